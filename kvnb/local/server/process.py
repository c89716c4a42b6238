"""Run the local vault: one uvicorn server per vault port, all in one event loop and process.

``python -m kvnb.local.server`` is what `kvnb local start` launches in the background; tests run
the same `LocalVaultServer` in a thread with ``port=0``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import logging
import os
import signal
import socket
import sys
import threading

import uvicorn

from ..seed import scenario
from ..state.paths import StatePaths, write_private
from . import tls
from .app import create_app
from .service import Faults, LocalVaultService

log = logging.getLogger("kvnb.local")


class PortInUse(OSError):
    pass


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to LocalVaultServer (it runs several)."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def _bind(port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: with proto 0 asyncio does not set TCP_NODELAY on accepted
    # connections, and every response then waits ~40 ms for delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"Port {port} on 127.0.0.1 is taken. Stop what uses it, or start with --port P "
                "(--port 0 picks a free port)."
            ) from None
        raise
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


class LocalVaultServer:
    def __init__(
        self,
        paths: StatePaths,
        *,
        port: int | None = None,
        challenge_mode: str = "azure",
        latency_ms: int = 0,
        throttle: bool = False,
    ):
        self.paths = paths.ensure()
        for change in self.paths.tighten():
            log.warning("closed the state directory to other users: %s", change)
        tls.ensure_tls(self.paths)
        self.service = LocalVaultService.open(
            self.paths,
            challenge_mode=challenge_mode,
            faults=Faults(latency_ms=latency_ms, throttle=throttle),
        )
        self.service.add_vault = self.add_vault
        self.service.stop_extra_vaults = self.stop_extra_vaults
        store = self.service.store
        if not scenario.is_seeded(store):
            scenario.reset(store, first_port=port if port is not None else 8443)
        elif port is not None:
            with store.transaction() as db:
                db.execute("UPDATE vaults SET port = ? WHERE position = 0", (port,))
        self.app = create_app(self.service)
        self._servers: dict[str, _QuietServer] = {}
        self._tasks: dict[str, asyncio.Task] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.ready = threading.Event()

    # -- listeners --------------------------------------------------------------------------------
    def _config(self) -> uvicorn.Config:
        return uvicorn.Config(
            self.app,
            ssl_certfile=str(self.paths.server_cert),
            ssl_keyfile=str(self.paths.server_key),
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
            date_header=False,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=2,
            http="auto",
            loop="none",
        )

    async def _listen(self, name: str, port: int) -> int:
        sock = _bind(port)
        bound = sock.getsockname()[1]
        server = _QuietServer(self._config())
        self._servers[name] = server
        self.service.ports[bound] = name
        self._tasks[name] = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started:
            if self._tasks[name].done():
                self._tasks[name].result()
            await asyncio.sleep(0.005)
        return bound

    async def add_vault(self, name: str, port: int) -> int:
        existing = [p for p, n in self.service.ports.items() if n.lower() == name.lower()]
        if existing:
            return existing[0]
        scenario.add_vault(self.service.store, name, port)
        bound = await self._listen(name, port)
        self._write_runtime()
        return bound

    async def stop_extra_vaults(self) -> None:
        first = self.service.ports.get(self.service.first_port)
        for name in [n for n in self._servers if n != first]:
            self._servers.pop(name).should_exit = True
            await self._tasks.pop(name)
            for port in [p for p, n in self.service.ports.items() if n == name]:
                del self.service.ports[port]
        self._write_runtime()

    def _write_runtime(self) -> None:
        info = {
            "pid": os.getpid(),
            "home": str(self.paths.home),
            "admin_token": self.service.admin_token,
            "challenge_mode": self.service.challenge_mode,
            "vaults": [{"name": n, "port": p} for p, n in self.service.ports.items()],
        }
        write_private(self.paths.runtime, json.dumps(info).encode())

    # -- lifecycle ----------------------------------------------------------------------------------
    async def serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._exit = asyncio.Event()
        rows = self.service.store.db.execute("SELECT name, port FROM vaults ORDER BY position").fetchall()
        for row in rows:
            await self._listen(row["name"], row["port"])
        self._write_runtime()
        self.ready.set()
        await self._exit.wait()
        for server in self._servers.values():
            server.should_exit = True
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            if json.loads(self.paths.runtime.read_text()).get("pid") == os.getpid() and not self._thread:
                self.paths.runtime.unlink()

    _thread: threading.Thread | None = None

    def request_exit(self, *, force: bool = False) -> None:
        """Stop serving; *force* drops open keep-alive connections instead of waiting for them."""
        if self._loop is not None:
            if force:
                for server in self._servers.values():
                    server.force_exit = True
            self._loop.call_soon_threadsafe(self._exit.set)

    def run(self) -> None:
        """Serve until SIGTERM/SIGINT (the background process of `kvnb local start`)."""
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:
            runner = asyncio.run

        async def main():
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, lambda: self._exit.set())
            await self.serve()

        runner(main())

    def start_in_thread(self, timeout: float = 30) -> LocalVaultServer:
        self._error: BaseException | None = None

        def target():
            try:
                asyncio.run(self.serve())
            except BaseException as exc:  # surfaced by start_in_thread
                self._error = exc
                self.ready.set()

        self._thread = threading.Thread(target=target, name="kvnb-local-vault", daemon=True)
        self._thread.start()
        if not self.ready.wait(timeout):
            raise TimeoutError("The local vault did not start in time.")
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        self.request_exit(force=True)
        if self._thread is not None:
            self._thread.join(30)
        self.service.store.close()

    @property
    def running(self) -> bool:
        """Serving in a thread (`start_in_thread`) and not stopped."""
        return self._thread is not None and self._thread.is_alive()

    def reset(self, *, empty: bool = False) -> None:
        """Back to the seed (or *empty*) from another thread, as `kvnb local reset` asks over HTTP:
        the extra vaults stop and the state is laid anew in one transaction."""
        if self._loop is not None and len(self.service.ports) > 1:
            asyncio.run_coroutine_threadsafe(self.stop_extra_vaults(), self._loop).result(30)
        scenario.reset(self.service.store, empty=empty, first_port=self.service.first_port)

    @property
    def first_url(self) -> str:
        return f"https://127.0.0.1:{self.service.first_port}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kvnb.local.server")
    parser.add_argument("--home")
    parser.add_argument("--port", type=int)
    parser.add_argument("--challenge-resource", choices=["azure", "ip-parent"], default="azure")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--throttle", choices=["on", "off"], default="off")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        server = LocalVaultServer(
            StatePaths.resolve(args.home),
            port=args.port,
            challenge_mode=args.challenge_resource,
            latency_ms=args.latency_ms,
            throttle=args.throttle == "on",
        )
        server.run()
    except (PortInUse, OSError) as exc:
        print(f"kvnb local vault: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
