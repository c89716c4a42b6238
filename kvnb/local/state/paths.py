"""Where the local vault keeps its state.

Everything lives in one directory, ``KVNB_HOME`` (default ``~/.kvnb``). Files holding key material are
created readable by their owner only; the directory itself is ``0700``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class StateDirError(OSError):
    """The state directory cannot be created or written."""


def default_home() -> Path:
    return Path(os.environ.get("KVNB_HOME") or Path.home() / ".kvnb").expanduser()


@dataclass(frozen=True)
class StatePaths:
    home: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike | None = None) -> "StatePaths":
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

    def ensure(self) -> "StatePaths":
        try:
            self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
            probe = self.home / ".write-probe"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise StateDirError(
                f"The state directory {self.home} is not writable ({exc.strerror}). "
                "Set KVNB_HOME to a writable folder."
            ) from None
        return self


def write_private(path: Path, data: bytes) -> None:
    """Create or replace *path* with mode 0600, atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
