"""Where the local vault keeps its state.

Everything lives in one directory, ``KVNB_HOME`` (default ``~/.kvnb``), created ``0700``. Every file
in it but the public certificates (`PUBLIC_FILES`) is created ``0600`` (`write_private`,
`create_private`): the database holds every persona's identity header, the runtime file the admin
token, the keys decrypt every value. `tighten` repairs a directory an older kvnb left open.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ...home import default_home, make_private_dir

PUBLIC_FILES = frozenset({"ca.pem", "server.pem", "ca-bundle.pem"})  # certificates: anyone may read them


class StateDirError(OSError):
    """The state directory cannot be created or written."""


@dataclass(frozen=True)
class StatePaths:
    home: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike | None = None) -> StatePaths:
        return cls(Path(home).expanduser().resolve() if home else default_home().resolve())

    @property
    def database(self) -> Path:
        return self.home / "state.db"

    @property
    def master_key(self) -> Path:
        return self.home / "master.key"

    @property
    def signing_key(self) -> Path:
        return self.home / "token-signing-key.pem"

    @property
    def ca_cert(self) -> Path:
        return self.home / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.home / "ca-key.pem"

    @property
    def server_cert(self) -> Path:
        return self.home / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.home / "server-key.pem"

    @property
    def ca_bundle(self) -> Path:
        """The local CA plus the public roots, for REQUESTS_CA_BUNDLE / SSL_CERT_FILE."""
        return self.home / "ca-bundle.pem"

    @property
    def runtime(self) -> Path:
        """Written by a running server: pid, ports, admin token."""
        return self.home / "server.json"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    @property
    def login(self) -> Path:
        """The persona `kvnb local login` chose."""
        return self.home / "login"

    def ensure(self) -> StatePaths:
        try:
            make_private_dir(self.home)
            probe = self.home / ".write-probe"
            create_private(probe)
            probe.unlink()
        except OSError as exc:
            raise StateDirError(
                f"The state directory {self.home} is not writable ({exc.strerror}). Set KVNB_HOME to a writable folder."
            ) from None
        return self

    def tighten(self) -> list[str]:
        """Close a state directory left open (by an older kvnb): the directory to 0700, every file
        but the public certificates to 0600. Returns what changed, as ``"name 0755 → 0700"``."""
        changed = []
        for path in [self.home, *sorted(self.home.iterdir())] if self.home.is_dir() else []:
            if path.name in PUBLIC_FILES or path.is_symlink():
                continue
            wanted = 0o700 if path.is_dir() else 0o600
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                path.chmod(mode & wanted)
                changed.append(f"{path.name if path != self.home else path} {mode:04o} → {mode & wanted:04o}")
        return changed


def create_private(path: Path) -> None:
    """Create *path* empty with mode 0600 unless it exists (SQLite then gives its -wal and -shm the same)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def write_private(path: Path, data: bytes) -> None:
    """Create or replace *path* with mode 0600, atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
