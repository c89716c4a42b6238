"""The kernel's half of the save guard: sealed window digests of every value, for the Jupyter server.

The server that saves notebooks never holds a kernel's values, and no value may reach disk. Yet it
must find a *piece* of a value — any run of at least K characters (``redact_min_run()``, 16 by
default) of any form of it — as well as a whole short value (6 characters or more). So each kernel
with ``%load_ext kvnb`` keeps two owner-only files in ``$KVNB_HOME/guard`` (directory 0700, files
created 0600 — never chmod-ed afterwards):

``<pid>.key``
    32 random bytes, this kernel's own, written once.
``<pid>.digests``
    one record per value, appended: for every form of the value at least K characters long, the
    digest of *each* of its K-character windows; for a shorter form (6 to K-1 characters), the
    digest of the whole form. Records are sealed with AES-GCM under a key derived from ``<pid>.key``.

A digest is a keyed polynomial hash of the window's code points — ``sum c[j]·r^(L-1-j) mod 2^64``
with a secret odd base ``r`` derived from the key. That choice is what makes the server fast: it
hashes *every* window of a notebook with a handful of numpy passes (about 10 MB/s), where an HMAC
per window would cost a Python call each (0.7 MB/s). A polynomial hash is not a MAC, so the digests
never sit in the clear: the sealing is what keeps them from anyone without the key.

Brute-force resistance, case by case:

- Another local user reads neither file: the directory is 0700 and the files 0600 from creation.
  This is the guard's real protection, as for an SSH key.
- Someone holding ``<pid>.digests`` alone (a copy, a backup) sees AES-GCM ciphertext: nothing to
  test guesses against, for a 6-digit PIN or an 8-character prefix alike.
- Someone holding both files can test guesses (a PIN falls in a second) — but that is the kernel's
  own user, who can read the kernel's memory anyway. Short values are never hashed without the key.
- The files go when the kernel ends (``atexit``, which a kernel's shutdown runs, and
  ``redaction.uninstall``); the server removes those of dead processes (``kvnb.saveguard``).

Cost: a 2 KB PEM key gives about 25,000 distinct windows over all its forms (many forms of base64
text coincide): a 200 KB record, written in about 0.2 s. What the guard cannot see: a piece shorter than K, a value split across
two separate strings of the notebook (two cells), and transformations outside the forms.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import secrets
import stat
import struct
import threading
import warnings
from pathlib import Path

import numpy as np

from kvnb.home import default_home, make_private_dir
from kvnb.matching import MIN_WHOLE

MAGIC = b"kvnb-save-guard 2\n"
_RECORD_HEAD = struct.Struct("<I12s")  # sealed length, AES-GCM nonce
_TABLE_HEAD = struct.Struct("<II")  # window length, digest count


def guard_dir(home: str | os.PathLike | None = None) -> Path:
    """``$KVNB_HOME/guard`` (``~/.kvnb/guard`` by default): where kernels leave their guard files."""
    return (Path(home).expanduser() if home else default_home()) / "guard"


def min_run() -> int:
    """K: the shortest piece of a value that counts (``KVNB_REDACT_MIN_RUN``, one setting for all)."""
    from kvnb.matching import redact_min_run

    return redact_min_run()


class GuardKey:
    """What one kernel's key file yields: the hash base and the sealing key."""

    def __init__(self, secret: bytes) -> None:
        base = hashlib.sha256(b"kvnb-save-guard-base\0" + secret).digest()
        self.base = np.uint64(int.from_bytes(base[:8], "little") | 1)
        self._seal = hashlib.sha256(b"kvnb-save-guard-seal\0" + secret).digest()

    def windows(self, codes: np.ndarray, length: int) -> np.ndarray:
        """The digest of every ``length``-character window of ``codes`` (``code_points(text)``)."""
        count = len(codes) - length + 1
        if count <= 0:
            return np.empty(0, dtype=np.uint64)
        digests = codes[:count].astype(np.uint64)
        for j in range(1, length):  # uint64 wraps around: arithmetic mod 2^64
            digests *= self.base
            digests += codes[j : j + count]
        return digests

    def seal(self, payload: bytes, associated: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self._seal).encrypt(nonce, payload, associated)
        return _RECORD_HEAD.pack(len(sealed), nonce) + sealed

    def open_records(self, data: bytes, associated: bytes) -> list[bytes]:
        """The payloads of ``data`` (after MAGIC); a torn last record (being appended) is left out."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        cipher, payloads, pos = AESGCM(self._seal), [], 0
        while pos + _RECORD_HEAD.size <= len(data):
            size, nonce = _RECORD_HEAD.unpack_from(data, pos)
            start = pos + _RECORD_HEAD.size
            if start + size > len(data):
                break
            payloads.append(cipher.decrypt(nonce, data[start : start + size], associated))
            pos = start + size
        return payloads


def code_points(text: str) -> np.ndarray:
    """``text`` as an array of code points (uint32; the hash widens them as it goes)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def pack_tables(tables: dict[int, np.ndarray]) -> bytes:
    return b"".join(
        _TABLE_HEAD.pack(length, len(d)) + d.astype("<u8").tobytes() for length, d in sorted(tables.items())
    )


def unpack_tables(payload: bytes) -> dict[int, np.ndarray]:
    tables, pos = {}, 0
    while pos < len(payload):
        length, count = _TABLE_HEAD.unpack_from(payload, pos)
        pos += _TABLE_HEAD.size
        tables[length] = np.frombuffer(payload, dtype="<u8", count=count, offset=pos).astype(np.uint64)
        pos += 8 * count
    return tables


def value_tables(key: GuardKey, forms, k: int) -> dict[int, np.ndarray]:
    """Window length → digests for one value's ``forms`` (``kvnb.matching.Form``s).

    A window of public boilerplate only (a PEM armour line, say: ``Form.public``) is left out, as
    the engine leaves such runs alone; a window with one character of the value in it counts.
    """
    tables: dict[int, list[np.ndarray]] = {}
    for form in forms:
        text, public = form.text, form.public
        if len(text) < MIN_WHOLE:
            continue
        length = min(k, len(text))
        digests = key.windows(code_points(text), length)
        if public is not None:
            secret = np.concatenate(([0], np.cumsum(np.frombuffer(public, dtype=np.uint8) == 0)))
            digests = digests[secret[length:] - secret[: len(digests)] > 0]
        tables.setdefault(length, []).append(digests)
    return {length: np.unique(np.concatenate(parts)) for length, parts in tables.items()}


def private_dir(path: Path) -> None:
    """Make ``path`` (mode 0700 at creation) or check an existing one is ours and private."""
    make_private_dir(path)  # and KVNB_HOME above it: %load_ext may be the first to make it
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise PermissionError(0, f"{path} is not a private folder of this user (mode 0700)")


def create_private(path: Path, data: bytes) -> None:
    """Write a new file that is 0600 from its creation, replacing ``path`` atomically."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class GuardFile:
    """Keeps ``<dir>/<pid>.key`` and ``<dir>/<pid>.digests`` in step with a registry's values."""

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        folder = guard_dir() if directory is None else Path(directory)
        self.key_path = folder / f"{os.getpid()}.key"
        self.path = folder / f"{os.getpid()}.digests"
        secret = secrets.token_bytes(32)
        self._secret = secret
        self._key = GuardKey(secret)
        self._lock = threading.Lock()
        self._seen: set[int] = set()  # digests of values already added (in memory only)
        self._values = 0

    def __repr__(self) -> str:
        return f"<GuardFile {self.path} of {self._values} values>"

    @property
    def associated(self) -> bytes:
        return MAGIC + str(os.getpid()).encode()

    def add(self, value: str) -> None:
        """Append the sealed digests of every form of ``value``."""
        codes = code_points(value)
        marker = int(self._key.windows(codes, len(codes))[0]) if len(codes) else 0
        with self._lock:
            if marker in self._seen:
                return
            self._seen.add(marker)
            self._values += 1
            k = min_run()
            record = self._key.seal(pack_tables(value_tables(self._key, _forms(value, k), k)), self.associated)
            self._write_or_warn(lambda: self._append(record))

    def clear(self) -> None:
        """Start over: a fresh key file and an empty digests file."""
        with self._lock:
            self._seen, self._values = set(), 0
            self._write_or_warn(self._create)

    def remove(self) -> None:
        """Delete both files (nothing to guard once the kernel stops)."""
        for path in (self.path, self.key_path):
            try:
                path.unlink()
            except FileNotFoundError:
                pass

    def _create(self) -> None:
        private_dir(self.path.parent)
        create_private(self.key_path, self._secret)
        create_private(self.path, MAGIC)

    def _append(self, record: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "ab") as file:
            file.write(record)

    def _write_or_warn(self, write) -> None:
        # A fetch must not fail because the guard cannot write; the user is told the guard is off.
        try:
            write()
        except OSError as exc:
            warnings.warn(
                f"kvnb save guard: cannot write {self.path} ({exc.strerror}); notebooks saved "
                "now are not checked. Set KVNB_HOME to a writable folder.",
                stacklevel=3,
            )


def _forms(value: str, k: int) -> list:
    """What the engine matches for ``value``: the forms of it and of its secret parts (a password
    inside a connection string), and the forms a split multi-byte character leaves."""
    from kvnb.matching import forms_of, secret_parts
    from kvnb.matching.forms import split_forms

    found = []
    for text in [value, *secret_parts(value)]:
        if len(text) >= MIN_WHOLE:
            forms = forms_of(text, min_length=MIN_WHOLE)
            found += forms + split_forms(forms, k)
    return found


_lock = threading.Lock()
_active: tuple[object, GuardFile] | None = None  # (registry, guard file) while the guard runs


def start(registry, directory: str | os.PathLike | None = None) -> GuardFile:
    """Write guard files for ``registry``'s values, now and on every later ``add``.

    ``redaction.install(shell)`` calls this in kernels; starting twice returns the running guard.
    """
    global _active
    with _lock:
        if _active is not None:
            return _active[1]
        guard = GuardFile(directory)
        guard.clear()  # the files exist from now on, even before the first value
        registry.subscribe(guard.add, guard.clear)
        atexit.register(guard.remove)  # a kernel's shutdown ends the process: this runs
        _active = (registry, guard)
        return guard


def stop() -> None:
    """Stop updating and delete the guard files."""
    global _active
    with _lock:
        if _active is None:
            return
        registry, guard = _active
        _active = None
        registry.unsubscribe(guard.add, guard.clear)
        atexit.unregister(guard.remove)
        guard.remove()


def active() -> GuardFile | None:
    """The running guard file, if any."""
    return None if _active is None else _active[1]
