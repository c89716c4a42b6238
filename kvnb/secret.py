"""The masked secret type: a fetched value that shows itself only when asked to.

``Secret`` is deliberately *not* a ``str`` subclass: a subclass would hand its value to
``str.join``, ``json.dumps``, ``re`` and every C function that reads string data directly. Every
way of displaying one (``repr``, ``str``, f-strings, ``format``, IPython's rich display) shows a
mask such as ``<secret APICaller 3f2a9c81d0e4… ••••••••>``; ``+``, ``%`` and slicing give
masked results; operations that need the characters raise ``TypeError`` pointing to ``.reveal()``.

The value comes out only through ``.reveal()`` / ``.get_secret_value()`` (pydantic's name), or
``.peek(n)`` when the peek policy allows it. ``.fingerprint`` verifies a value without showing it.

Every value a ``Secret`` holds is registered with ``kvnb.redaction.registry``, so it is scrubbed
from output even after it has been revealed.
"""

from __future__ import annotations

import hmac
import html
import time
from collections.abc import Callable
from typing import Any

from kvnb import fingerprint as _fingerprint
from kvnb import redaction
from kvnb.errors import PeekNotAllowed, RevealRequired, SecretValueDropped

PeekPolicy = str | int  # "deny", "allow", or the most characters peek() may show
Refetch = Callable[[str | None], tuple]  # version or None -> (value, SecretProperties|None)

DOTS = "••••••••"
_REVEAL_HINT = "call .reveal() to use the plain value explicitly"


class Secret:
    """A secret value fetched from Key Vault, masked wherever it is shown.

    Made by kvnb (``%kvget``), not usually by hand. ``refetch(version)`` — ``None`` meaning the
    latest — returns ``(value, properties)``; it reloads the value after ``ttl`` seconds (noticing
    a newer version on the way) and serves ``refresh()`` and ``latest()``. ``clock`` is for tests.
    """

    __slots__ = (
        "__weakref__",
        "_clock",
        "_derivation",
        "_fingerprint_full",
        "_fingerprint_shown",
        "_hash",
        "_identity",
        "_loaded_at",
        "_name",
        "_newer_version",
        "_nonempty",
        "_peek_policy",
        "_properties",
        "_refetch",
        "_ttl",
        "_value",
        "_vault_url",
        "_version",
    )

    def __init__(
        self,
        value: str,
        *,
        name: str,
        vault_url: str,
        version: str | None = None,
        properties: Any = None,
        identity: str | None = None,
        peek_policy: PeekPolicy = "deny",
        ttl: float | None = None,
        refetch: Refetch | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(value, str):
            raise TypeError(f"Secret takes the value as str, not {type(value).__name__}")
        if peek_policy != "deny":  # the default needs no check
            _check_peek_policy(peek_policy)
        self._name = name
        self._vault_url = vault_url
        self._properties = properties
        self._version = version if version is not None else getattr(properties, "version", None)
        self._identity = identity
        self._peek_policy = peek_policy
        self._ttl = ttl
        self._refetch = refetch
        self._clock = clock
        self._newer_version: str | None = None
        self._derivation: tuple | None = None  # (transform, parents) for derived secrets
        self._hash = hash(value)
        self._fingerprint_full, self._fingerprint_shown = _known_fingerprint(
            value, self._hash, vault_url, name, self._version
        )
        self._nonempty = bool(value)
        self._hold(value)

    # -- derived values ------------------------------------------------------------------------

    @classmethod
    def _derive(cls, name: str, transform: Callable[..., str], parents: tuple[Secret, ...], register: bool) -> Secret:
        """A masked result computed from parents' values; recomputed after their TTL."""
        first = parents[0]
        value = transform(*(p.reveal() for p in parents))
        ttls = [p._ttl for p in parents if p._ttl is not None]
        derived = cls.__new__(cls)
        for attribute in ("_vault_url", "_properties", "_version", "_identity", "_peek_policy", "_clock"):
            setattr(derived, attribute, getattr(first, attribute))
        derived._name = name
        derived._ttl = min(ttls) if ttls else None
        derived._refetch = None
        derived._newer_version = None
        derived._derivation = (transform, parents)
        derived._fingerprint_full = _fingerprint.fingerprint(value, first._vault_url)
        derived._fingerprint_shown = _fingerprint.may_show(value)
        derived._hash = hash(value)
        derived._nonempty = bool(value)
        # A slice is a new string to scrub; a concatenation already holds a registered value.
        derived._hold(value, register=register)
        return derived

    @property
    def derived(self) -> bool:
        """True for a result of slicing, ``+`` or ``%`` on a Secret."""
        return self._derivation is not None

    # -- the value, explicitly -----------------------------------------------------------------

    def reveal(self) -> str:
        """The plain value. It is still scrubbed from output: see docs/redaction.md."""
        if self._value is not None and self._ttl is not None and (self._clock() - self._loaded_at >= self._ttl):
            self._value = None  # past its TTL: drop it, then load it again below
        if self._value is None:
            self._reload()
        return self._value

    get_secret_value = reveal

    def peek(self, n: int) -> str:
        """The first ``n`` characters, when the peek policy allows it."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError("peek(n) takes a positive number of characters")
        policy = self._peek_policy
        allowed = policy == "allow" or (isinstance(policy, int) and 0 < n <= policy)
        if not allowed:
            limit = "" if policy == "deny" else f" (at most {policy} characters)"
            raise PeekNotAllowed(
                f"Peeking at {self._name} is not allowed by the peek policy{limit}. Compare "
                "its .fingerprint instead, or allow peeking, e.g. "
                "`%config KvMagics.peek_policy = 8`."
            )
        return self.reveal()[:n]

    # -- metadata ------------------------------------------------------------------------------

    @property
    def fingerprint(self) -> str | None:
        """Short keyed fingerprint (12 hex): equal values in one vault give equal fingerprints.

        None for a value too guessable to fingerprint (``kvnb.fingerprint.WITHHELD`` says why):
        the key is public, so a fingerprint would let anyone test guesses offline.
        """
        return self._fingerprint_full[: _fingerprint.SHORT_LENGTH] if self._fingerprint_shown else None

    @property
    def fingerprint_full(self) -> str | None:
        return self._fingerprint_full if self._fingerprint_shown else None

    @property
    def fingerprint_shown(self) -> str:
        """The fingerprint, or the short reason why none is shown: what displays print."""
        if self._fingerprint_shown:
            return self.fingerprint
        return f"withheld (estimated entropy under {_fingerprint.MIN_FINGERPRINT_BITS} bits: guessable from it)"

    @property
    def name(self) -> str:
        return self._name

    @property
    def vault_url(self) -> str:
        return self._vault_url

    @property
    def version(self) -> str | None:
        return self._version

    @property
    def identity(self) -> str | None:
        """Who fetched the value (the caller's object id or UPN)."""
        return self._identity

    @property
    def properties(self):
        """The ``azure.keyvault.secrets.SecretProperties`` it was fetched with, if any."""
        return self._properties

    @property
    def id(self) -> str:
        known = getattr(self._properties, "id", None)
        if known:
            return known
        base = f"{self._vault_url.rstrip('/')}/secrets/{self._name}"
        return f"{base}/{self._version}" if self._version else base

    created = property(lambda self: self._property("created_on"), doc="When it was created.")
    updated = property(lambda self: self._property("updated_on"), doc="When it was last updated.")
    expires = property(lambda self: self._property("expires_on"), doc="Its expiry (``exp``).")
    not_before = property(lambda self: self._property("not_before"), doc="Its ``nbf``.")
    enabled = property(lambda self: self._property("enabled"), doc="Whether it is enabled.")
    content_type = property(lambda self: self._property("content_type"), doc="Its content type.")
    tags = property(lambda self: self._property("tags"), doc="Its tags.")

    @property
    def newer_version(self) -> str | None:
        """The newer version ``refresh()`` found in the vault, if any."""
        return self._newer_version

    def refresh(self) -> bool:
        """Ask the vault for the latest version; True (and say so on display) if it is newer.

        The object keeps its own version; ``latest()`` (or fetching again) switches. When the
        latest *is* this version, its value is reloaded and the TTL starts again.
        """
        if self._refetch is None:
            raise SecretValueDropped(
                f"{self._name} cannot be refreshed here: fetch it again, e.g. `%kvget {self._name}`."
            )
        value, properties = self._refetch(None)
        _register(value, self._name)  # it reached memory, whichever version it is
        latest = getattr(properties, "version", None)
        if latest is not None and self._version is not None and latest != self._version:
            self._newer_version = latest
            return True
        self._check_same_value(value)
        self._newer_version = None
        self._hold(value, register=False)
        return False

    def latest(self) -> Secret:
        """A new ``Secret`` holding the latest version (this one is left as it is)."""
        if self._refetch is None:
            raise SecretValueDropped(f"Fetch {self._name} again, e.g. `%kvget {self._name}`.")
        value, properties = self._refetch(None)
        return Secret(
            value,
            name=self._name,
            vault_url=self._vault_url,
            properties=properties,
            identity=self._identity,
            peek_policy=self._peek_policy,
            ttl=self._ttl,
            refetch=self._refetch,
            clock=self._clock,
        )

    # -- display: always the mask --------------------------------------------------------------

    def _mask(self) -> str:
        note = ""
        if self._newer_version:
            note = f" (newer version available: {self._newer_version[:8]}…)"
        shown = f"{self.fingerprint}…" if self._fingerprint_shown else "(no fingerprint)"
        return f"<secret {self._name} {shown} {DOTS}{note}>"

    def __repr__(self) -> str:
        return self._mask()

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(self._mask(), spec)

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(self._mask())

    def _repr_html_(self) -> str:
        return f"<code>{html.escape(self._mask())}</code>"

    # Only these two mimetypes, on purpose: IPython adds the output of every other _repr_*_ method
    # to the bundle, and a frontend shows the richest type it knows — application/json became a
    # collapsible JSON tree in JupyterLab. text/html and text/plain are one line in JupyterLab,
    # classic Notebook, VS Code and terminal IPython.
    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": self._mask(), "text/html": self._repr_html_()}

    # -- operations that give masked results ---------------------------------------------------

    def __add__(self, other):
        if isinstance(other, Secret):
            return Secret._derive(f"{self._name}+{other._name}", _concat, (self, other), False)
        if isinstance(other, str):
            return Secret._derive(f"{self._name}+…", lambda v: v + other, (self,), False)
        return NotImplemented

    def __radd__(self, other):
        if isinstance(other, str):
            return Secret._derive(f"…+{self._name}", lambda v: other + v, (self,), False)
        return NotImplemented

    def __mod__(self, args):
        def formatted(value: str) -> str:
            try:
                return value % args
            except (TypeError, ValueError, KeyError):
                # Python's message quotes characters of the format string: the value.
                raise TypeError(
                    f"%-formatting with {self._name} as the format failed; {_REVEAL_HINT} and check it."
                ) from None

        return Secret._derive(f"{self._name}%…", formatted, (self,), False)

    def __getitem__(self, key):
        if not isinstance(key, (int, slice)):
            raise TypeError(f"Secret indices must be integers or slices, not {type(key).__name__}")
        return Secret._derive(f"{self._name}[{_describe(key)}]", lambda v: v[key], (self,), True)

    # -- comparison ----------------------------------------------------------------------------

    def __eq__(self, other) -> bool:
        if isinstance(other, Secret):
            other = other.reveal()
        if not isinstance(other, str):
            return NotImplemented
        # Constant time, so comparing against guesses does not reveal a matching prefix.
        return hmac.compare_digest(self.reveal().encode("utf-8"), other.encode("utf-8"))

    def __hash__(self) -> int:
        # The str's own hash, so a Secret and its equal plain str agree in sets and dicts.
        return self._hash

    def __bool__(self) -> bool:
        return self._nonempty

    # -- operations that need the characters: refuse, and say what to do -----------------------

    def __len__(self) -> int:
        raise TypeError(f"len() of {self._name} would reveal the value's length; {_REVEAL_HINT}.")

    def __iter__(self):
        raise TypeError(f"{self._name} cannot be iterated; {_REVEAL_HINT}.")

    def __contains__(self, item) -> bool:
        raise TypeError(f"`in` on {self._name} would test its characters; {_REVEAL_HINT}.")

    def encode(self, *args, **kwargs) -> bytes:
        raise TypeError(f"{self._name} cannot be encoded while masked; {_REVEAL_HINT}.")

    def __bytes__(self) -> bytes:
        raise TypeError(f"bytes({self._name}) would expose the value; {_REVEAL_HINT}.")

    def __reduce_ex__(self, protocol):
        raise TypeError(
            f"{self._name} cannot be pickled or copied: a copy would outlive the masking; {_REVEAL_HINT} if you must."
        )

    def __getstate__(self):
        self.__reduce_ex__(2)

    def __getattr__(self, name: str):
        if not name.startswith("_") and hasattr(str, name):
            raise RevealRequired(f"{self._name} is masked: .{name}() works on the plain value; {_REVEAL_HINT}.")
        raise AttributeError(f"'Secret' object has no attribute '{name}'")

    # -- internals -----------------------------------------------------------------------------

    def _hold(self, value: str, *, register: bool = True) -> None:
        self._value = value
        self._loaded_at = self._clock()
        if register:
            _register(value, self._name)

    def _reload(self) -> None:
        if self._derivation is not None:
            transform, parents = self._derivation
            value = transform(*(p.reveal() for p in parents))
        elif self._refetch is not None:
            # Asking for the latest first notices a rotation on the way ("newer version available").
            if not self.refresh():
                return
            value, _ = self._refetch(self._version)
            _register(value, self._name)
        else:
            raise SecretValueDropped(
                f"The value of {self._name} was dropped from memory after its TTL "
                f"({self._ttl:g} s); fetch it again, e.g. `%kvget {self._name}`."
            )
        self._check_same_value(value)
        self._hold(value, register=False)

    def _check_same_value(self, value: str) -> None:
        # Key Vault versions are immutable: another value means another (unnamed) version.
        if _fingerprint.fingerprint(value, self._vault_url) != self._fingerprint_full:
            raise SecretValueDropped(
                f"{self._name} changed in the vault since it was fetched; fetch it again, e.g. `%kvget {self._name}`."
            )

    def _property(self, attribute: str):
        return getattr(self._properties, attribute, None)


# A warm %kvget fetches the same version again and again; its fingerprint is remembered rather
# than recomputed (the HMAC is a measurable share of a warm fetch). Keyed by the value's hash, which
# a Secret keeps anyway, and the version (immutable in Key Vault), so no value is held here.
_FINGERPRINTS: dict[tuple, tuple[str, bool]] = {}
_MAX_FINGERPRINTS = 1024


def _known_fingerprint(value: str, value_hash: int, vault_url: str, name: str, version: str | None) -> tuple[str, bool]:
    """(full fingerprint, whether it may be shown)."""
    if version is None:
        return _fingerprint.fingerprint(value, vault_url), _fingerprint.may_show(value)
    key = (vault_url, name, version, value_hash)
    known = _FINGERPRINTS.get(key)
    if known is None:
        known = _fingerprint.fingerprint(value, vault_url), _fingerprint.may_show(value)
        if len(_FINGERPRINTS) >= _MAX_FINGERPRINTS:
            _FINGERPRINTS.clear()
        _FINGERPRINTS[key] = known
    return known


def _register(value: str, label: str) -> None:
    redaction.registry.add(value, label=label)  # looked up at each call: tests swap the registry


def _concat(left: str, right: str) -> str:
    return left + right


def _describe(key: int | slice) -> str:
    if isinstance(key, int):
        return str(key)
    parts = ["" if p is None else str(p) for p in (key.start, key.stop, key.step)]
    return ":".join(parts if key.step is not None else parts[:2])


def _check_peek_policy(policy: PeekPolicy) -> None:
    valid = policy in ("deny", "allow") or (isinstance(policy, int) and not isinstance(policy, bool) and policy >= 0)
    if not valid:
        raise ValueError(f"peek_policy must be 'deny', 'allow' or a number of characters, not {policy!r}")
