"""One local vault server per test process, lent to one test at a time and put back as new.

Starting a seeded TLS server and stopping it again cost about a second per test; laying the seed
anew in the running server costs a few milliseconds, and nothing when the test wrote nothing. What
a test may leave behind, and how it is undone before the next test:

* state in ``state.db`` (secrets, directory, assignments, reviews, the vault clock, extra vaults):
  `LocalVaultServer.reset`, in one transaction, when the database changed since the last reset;
* files the test wrote into the vault's home (``login``, ``guard/``, ...): removed;
* fault settings: latency is put back; throttling keeps per-window counts inside the server, so a
  test that touched any throttling setting gets a new server afterwards, as does a test that
  stopped or replaced the server;
* kept SDK clients and kvnb's kept vault targets: closed.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from kvnb import fetch
from kvnb.local.server.service import Faults


class WatchedFaults(Faults):
    """Fault settings that remember whether anything but the latency was set after creation."""

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "touched", False)

    def __setattr__(self, name: str, value) -> None:
        if name not in ("latency_ms", "touched"):
            object.__setattr__(self, "touched", True)
        super().__setattr__(name, value)


class SharedVault:
    """The test process's local vault; `lend` hands it out reset, `put_back` checks what was left."""

    def __init__(self, start: Callable[[Path], object], homes: Callable[[], Path]):
        self._start = start  # home -> LocalVault (a seeded server in a thread)
        self._homes = homes  # a new, empty home directory
        self._vault = None
        self._files: set[str] = set()
        self._clean: tuple | None = None  # the database's change marker right after the last reset
        self._empty = False

    def lend(self, *, empty: bool = False):
        vault = self._vault
        if vault is None or not vault.server.running:
            vault = self._vault = self._start(self._homes())
            self._files = {p.name for p in vault.paths.home.iterdir()}
            self._clean, self._empty = self._marker(), False
        if self._marker() != self._clean or self._empty != empty:
            vault.server.reset(empty=empty)
            self._clean, self._empty = self._marker(), empty
        vault.server.service.faults = WatchedFaults()
        return type(vault)(server=vault.server, paths=vault.paths)

    def put_back(self, lent) -> None:
        lent.close_clients()
        fetch.close_targets()
        shared = self._vault
        if lent.server is not shared.server:  # the test replaced the server: stop its own
            lent.server.stop()
        for path in shared.paths.home.iterdir():
            if path.name not in self._files and not path.name.startswith("state.db"):
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        if getattr(shared.server.service.faults, "touched", True) or lent.server is not shared.server:
            self.stop()

    def stop(self) -> None:
        vault, self._vault = self._vault, None
        if vault is not None:
            vault.close_clients()
            if vault.server.running:
                vault.server.stop()
            else:  # stopped by the test; its connection in this thread is still open
                vault.server.service.store.close()

    def _marker(self) -> tuple:
        """Changes whenever anything (this thread, the server's, another process) wrote the database."""
        db = self._vault.server.service.store.db
        return db.execute("PRAGMA data_version").fetchone()[0], db.total_changes
