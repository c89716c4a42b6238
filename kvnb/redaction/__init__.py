"""Redaction: every value kvnb fetched is scrubbed from everything the kernel emits.

Defence in depth behind the masked ``Secret`` type: when a plain value does get out — revealed and
printed, encoded, logged, raised — the output carries ``[secret NAME redacted]`` instead.

    from kvnb import redaction
    redaction.registry.add(value, label="APICaller")   # kvnb.secret.Secret does this itself
    redaction.install(get_ipython())                    # %load_ext kvnb does this
    redaction.registry.enabled = False                  # the documented off switch

The matching itself (the forms of a value, runs of K characters, boilerplate) is
``kvnb.matching``'s, shared with the save guard and ``kvnb scan``. What is caught, and what cannot
be, is written down in docs/redaction.md.
"""

from __future__ import annotations

import threading

from kvnb.matching import forms_of as _forms_of
from kvnb.redaction._registry import MIN_LENGTH, Registry, mask
from kvnb.redaction._streams import ScrubbingStream

__all__ = [
    "MIN_LENGTH",
    "Registry",
    "ScrubbingStream",
    "install",
    "installed",
    "mask",
    "needles",
    "registry",
    "scrub",
    "uninstall",
]

registry = Registry()

_lock = threading.Lock()
_process_hooks = None  # StdlibHooks, while any user is installed
_process_registry: Registry | None = None
_users: dict[object, object] = {}  # key -> ShellHooks (or None for a process-only install)


def needles(value: str) -> dict[str, str]:
    """Each whole form of ``value`` (``kvnb.matching.forms_of``) mapped to its kind's name."""
    return {form.text: form.kind for form in _forms_of(value, min_length=MIN_LENGTH)}


def scrub(text: str) -> str:
    """``registry.scrub(text)``: ``text`` with every form of every fetched value masked."""
    return registry.scrub(text)


def install(shell=None, *, registry: Registry | None = None) -> None:
    """Scrub output of the process (stdout, stderr, logging, warnings) and, given one, of ``shell``.

    ``shell`` is an IPython ``InteractiveShell`` (ipykernel's included). Installing twice is a
    no-op. All installs in a process share one registry, the module's ``registry`` by default.
    """
    global _process_hooks, _process_registry
    chosen = registry if registry is not None else globals()["registry"]
    with _lock:
        if _process_hooks is not None and chosen is not _process_registry:
            raise RuntimeError(
                "Redaction is already installed with another registry; call kvnb.redaction.uninstall() first."
            )
        key = _key(shell)
        if key in _users:
            return
        if _process_hooks is None:
            from kvnb.redaction._stdlib import StdlibHooks

            _process_hooks, _process_registry = StdlibHooks(chosen), chosen
        hooks = None
        if shell is not None:
            from kvnb.redaction._ipython import ShellHooks

            hooks = ShellHooks(shell, chosen, _process_hooks.release_streams)
            # A shell means a kernel, whose notebooks a Jupyter server saves: tell the save guard.
            from kvnb.redaction import guard

            guard.start(chosen)
        _users[key] = hooks


def uninstall(shell=None) -> None:
    """Remove what ``install(shell)`` added; the process hooks go with the last install."""
    global _process_hooks, _process_registry
    with _lock:
        hooks = _users.pop(_key(shell), None)
        if hooks is not None:
            hooks.undo()
        if not any(_users.values()):  # no shell left
            from kvnb.redaction import guard

            guard.stop()
        if not _users and _process_hooks is not None:
            _process_hooks.undo()
            _process_hooks, _process_registry = None, None


def installed(shell=None) -> bool:
    """Whether ``install(shell)`` is in effect."""
    return _key(shell) in _users


def _key(shell) -> object:
    return "process" if shell is None else id(shell)
