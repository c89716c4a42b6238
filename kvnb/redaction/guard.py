"""The kernel's half of the save guard: keyed digests of every needle, for the Jupyter server.

The server that saves notebooks does not hold the kernel's values, and a value must never reach
disk. So each kernel writes ``$KVNB_HOME/guard/<pid>.json`` (directory 0700, file 0600, replaced
atomically) with a random key of its own and, for every needle of every registered value, the
needle's length, a keyed BLAKE2b digest of the whole needle and one of its first ``HEAD``
characters (the cheap prefilter ``kvnb.saveguard`` slides over text). Never a value, never a plain
hash of one. The file goes when the guard stops: on ``redaction.uninstall`` or at interpreter exit.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import secrets
import threading
import warnings
from pathlib import Path

from kvnb.home import default_home, make_private_dir
from kvnb.redaction import needles

FORMAT = "kvnb-save-guard"
FORMAT_VERSION = 1
HEAD = 8  # characters in the prefilter window (shorter needles use their whole length)
DIGEST_SIZE = 16


def guard_dir(home: str | os.PathLike | None = None) -> Path:
    """``$KVNB_HOME/guard`` (``~/.kvnb/guard`` by default): where kernels leave their guard files."""
    return (Path(home).expanduser() if home else default_home()) / "guard"


def keyed_digest(key: bytes, text: str) -> str:
    """The keyed BLAKE2b digest (hex) both halves of the guard compare."""
    return hashlib.blake2b(text.encode("utf-8"), key=key, digest_size=DIGEST_SIZE).hexdigest()


class GuardFile:
    """Keeps ``<dir>/<pid>.json`` in step with a registry's values (digests only)."""

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.path = guard_dir() / f"{os.getpid()}.json" if directory is None else \
            Path(directory) / f"{os.getpid()}.json"
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._entries: list[dict] = []
        self._seen: set[str] = set()  # digests of values already added, so re-adding is free
        self._values = 0

    def __repr__(self) -> str:
        return f"<GuardFile {self.path} of {self._values} values>"

    def add(self, value: str) -> None:
        """Add the digests of every needle of ``value`` and rewrite the file."""
        marker = keyed_digest(self._key, value)
        with self._lock:
            if marker in self._seen:
                return
            self._seen.add(marker)
            index, self._values = self._values, self._values + 1
            for needle in needles(value):
                self._entries.append({
                    "value": index,  # which value (an ordinal), so the server can count values
                    "length": len(needle),
                    "head_length": min(HEAD, len(needle)),
                    "head": keyed_digest(self._key, needle[:HEAD]),
                    "digest": keyed_digest(self._key, needle),
                })
            self._write_or_warn()

    def clear(self) -> None:
        with self._lock:
            self._entries, self._seen, self._values = [], set(), 0
            self._write_or_warn()

    def remove(self) -> None:
        """Delete the file (nothing to guard once the kernel stops)."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def _write_or_warn(self) -> None:
        # A fetch must not fail because the guard cannot write; the user is told the guard is off.
        try:
            self._write()
        except OSError as exc:
            warnings.warn(f"kvnb save guard: cannot write {self.path} ({exc.strerror}); notebooks saved "
                          "now are not checked. Set KVNB_HOME to a writable folder.", stacklevel=3)

    def _write(self) -> None:
        document = {"format": FORMAT, "format_version": FORMAT_VERSION, "pid": os.getpid(),
                    "key": self._key.hex(), "needles": self._entries}
        make_private_dir(self.path.parent)  # and KVNB_HOME above it: %load_ext may be the first to make it
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(document, file)
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


_lock = threading.Lock()
_active: tuple[object, GuardFile] | None = None  # (registry, guard file) while the guard runs


def start(registry, directory: str | os.PathLike | None = None) -> GuardFile:
    """Write a guard file for ``registry``'s values, now and on every later ``add``.

    ``redaction.install(shell)`` calls this in kernels; starting twice returns the running guard.
    """
    global _active
    with _lock:
        if _active is not None:
            return _active[1]
        guard = GuardFile(directory)
        guard.clear()  # the file exists from now on, even before the first value
        registry.subscribe(guard.add, guard.clear)
        atexit.register(guard.remove)
        _active = (registry, guard)
        return guard


def stop() -> None:
    """Stop updating and delete the guard file."""
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
