"""Shared fixtures: a real local vault over TLS on 127.0.0.1 in a thread; acting as one of its
personas; an IPython shell with kvnb loaded; JupyterLab in Chromium for the browser tests.

Which vault fixture to use:

* `local_vault` -- the seeded vault. Each test process (each xdist worker) runs ONE server; before
  each test it is put back to the seed (only when the last test wrote anything), files left in its
  home are removed, and a test that stopped it or touched its throttling gets a new one
  (sharedvault.py). Real TLS, real tokens, the official SDKs: use it for end-to-end tests.
* `empty_vault` -- the same server reset to an empty vault where `lead` is administrator.
* `governed_vault`, `open_as`, `vault_env`, `ip` -- the seeded vault with KVNB_HOME set, a
  VaultTarget per persona, a kernel's environment, an IPython shell with kvnb loaded.
* `start_local_vault` -- a PRIVATE server (about a second to start and stop): for server options
  (`challenge_mode`, `latency_ms`, `throttle`), for a second independent vault (its own tenant and
  subscription), or a module-scoped vault of a module's own (see test_keyvault_wire.py).

Tests must not depend on each other's order or process: the suite runs under pytest-xdist. Use
`tmp_path`, port 0 and `monkeypatch` for the environment. Every test also checks that the local
vault logged no error while it ran (`no_server_errors`).

Plain helpers live in small modules next to this one (valuecheck, ipshell, armcalls, secretreads,
labbrowser, azcli, sharedvault), imported by the tests that need them.
"""

from __future__ import annotations

import gc
import inspect
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ipshell import ipython_shell
from kvnb import fetch, ledger
from kvnb.credentials import AsyncLocalVaultCredential, LocalVaultCredential
from kvnb.local import control
from kvnb.local.identity.issuer import TokenIssuer
from kvnb.local.server import tls
from kvnb.local.server.process import LocalVaultServer
from kvnb.local.state.paths import StatePaths
from kvnb.vault import open_vault
from labbrowser import CHROMIUM_ARGS, background_vault, chromium_or_skip, running_lab
from sharedvault import SharedVault

_is_coroutine_function = inspect.iscoroutinefunction
_KEY_MATERIAL = (
    "ca.pem",
    "ca-key.pem",
    "server.pem",
    "server-key.pem",
    "ca-bundle.pem",
    "token-signing-key.pem",
    "master.key",
)


class _ErrorRecords(logging.Handler):
    """Errors the local vault's servers log (kvnb's own, and uvicorn's for an exception in a route)."""

    loggers = ("kvnb.local", "uvicorn.error")

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        # uvicorn's own errors without an exception are about shutting down ("timeout graceful
        # shutdown exceeded" when a test stops a server with a connection open), not about a request.
        if record.name.startswith("kvnb.local") or record.exc_info:
            self.records.append(record)

    def watch(self) -> None:
        """(Again:) each uvicorn server's logging setup drops the handlers of its loggers."""
        for name in self.loggers:
            if self not in logging.getLogger(name).handlers:
                logging.getLogger(name).addHandler(self)


_server_errors = _ErrorRecords()


@pytest.fixture(autouse=True)
def no_server_errors():
    """Every test also proves the local vault logged no unexpected error (a 500 is always a bug).

    The servers run in this process's threads and the tests of a process run one after another, so
    what is logged from this test's setup to its teardown is this test's doing (a shared server's
    included: it is reset before each test and serves no one else).
    """
    _server_errors.watch()
    _server_errors.records.clear()
    yield
    errors = list(_server_errors.records)
    _server_errors.records.clear()
    assert not errors, f"the local vault logged an error: {errors[0].getMessage()}"


def pytest_collection_modifyitems(config, items):
    """Modules with a slow test run first, so that under pytest-xdist (`--dist loadgroup`, as
    scripts/test runs it) the long ones start early and the quick ones fill the gaps at the end.
    The tests of a module that share a module-scoped fixture (a JupyterLab, a browser, a corpus run
    in a kernel) stay on one worker, which sets it up once; every other test is handed out alone."""
    slow_modules = {item.module.__name__ for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.module.__name__ not in slow_modules)  # stable: modules stay whole
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is not None and any(d.scope == "module" for defs in info.name2fixturedefs.values() for d in defs):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


@pytest.fixture(scope="session")
def key_material(tmp_path_factory) -> Path:
    """Certificates and keys made once per session; each vault home starts from a copy."""
    paths = StatePaths.resolve(tmp_path_factory.mktemp("key-material")).ensure()
    tls.ensure_tls(paths)
    TokenIssuer(paths, "00000000-0000-0000-0000-000000000000")
    from kvnb.local.state.store import Store

    Store(paths).close()
    return paths.home


@dataclass
class LocalVault:
    server: LocalVaultServer
    paths: StatePaths
    _clients: list = field(default_factory=list)

    def _track(self, client):
        self._clients.append(client)
        return client

    def close_clients(self) -> None:
        """Close what tests opened, so the server's TLS shutdown does not wait on idle sockets."""
        for client in self._clients:
            close = getattr(client, "close", None)
            if close is not None and not _is_coroutine_function(close):
                close()

    @property
    def url(self) -> str:
        return self.server.first_url

    @property
    def service(self):
        return self.server.service

    @property
    def store(self):
        return self.server.service.store

    @property
    def ca(self) -> str:
        return str(self.paths.ca_cert)

    @property
    def token_endpoint(self) -> str:
        return f"{self.url}/msi/token"

    def credential(self, persona: str = "lead") -> LocalVaultCredential:
        header = control.identity_header(self.paths, persona)
        return self._track(
            LocalVaultCredential(self.token_endpoint, header, persona=persona, connection_verify=self.ca)
        )

    def async_credential(self, persona: str = "lead") -> AsyncLocalVaultCredential:
        header = control.identity_header(self.paths, persona)
        return AsyncLocalVaultCredential(self.token_endpoint, header, persona=persona, connection_verify=self.ca)

    def secret_client(self, persona: str = "lead", *, vault_url: str | None = None, **kwargs):
        from azure.keyvault.secrets import SecretClient

        return self._track(
            SecretClient(
                vault_url or self.url,
                self.credential(persona),
                verify_challenge_resource=False,
                connection_verify=self.ca,
                **kwargs,
            )
        )

    def admin(self, path: str, body: dict | None = None) -> dict:
        return control.admin(self.paths, path, body)

    def env(self, persona: str = "lead") -> dict:
        return control.environment(self.paths, persona)


def _start(home: Path, key_material: Path, **kwargs) -> LocalVault:
    home.mkdir(parents=True, exist_ok=True)
    for name in _KEY_MATERIAL:
        shutil.copy2(key_material / name, home / name)
    paths = StatePaths.resolve(home)
    server = LocalVaultServer(paths, port=0, **kwargs).start_in_thread()
    _server_errors.watch()
    return LocalVault(server=server, paths=paths)


@pytest.fixture(scope="session")
def _shared_vault(tmp_path_factory, key_material):
    shared = SharedVault(lambda home: _start(home, key_material), lambda: tmp_path_factory.mktemp("shared-vault"))
    yield shared
    shared.stop()


@pytest.fixture
def start_local_vault(tmp_path, key_material):
    """Factory: start a private local vault (seeded) with the given server options."""
    started: list[LocalVault] = []

    def start(name: str = "vault", **kwargs) -> LocalVault:
        vault = _start(tmp_path / name, key_material, **kwargs)
        started.append(vault)
        return vault

    yield start
    for vault in started:
        vault.close_clients()
        gc.collect()  # an SDK error keeps its pooled connection until collected
        vault.server.stop()


@pytest.fixture
def local_vault(_shared_vault, request) -> LocalVault:
    """The seeded local vault: this process's shared server, reset to the seed for this test (to
    empty when the test also asks for `empty_vault`)."""
    vault = _shared_vault.lend(empty="empty_vault" in request.fixturenames)
    yield vault
    _shared_vault.put_back(vault)


@pytest.fixture
def governed_vault(local_vault, monkeypatch) -> LocalVault:
    """The seed (its governance included); `open_vault("local")` in this process resolves to it."""
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    return local_vault


@pytest.fixture
def empty_vault(local_vault) -> LocalVault:
    """The local vault reset to empty, where `lead` is administrator."""
    return local_vault


# -- acting as one persona ---------------------------------------------------------------------------
@pytest.fixture
def open_as(local_vault, monkeypatch):
    """Factory: a VaultTarget for the local vault, acting as one persona (resolved the way users do)."""
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    monkeypatch.delenv("KVNB_PERSONA", raising=False)
    opened = []

    def open_target(persona: str = "lead"):
        target = open_vault("local", persona=persona, start_local=False)
        opened.append(target)
        return target

    yield open_target
    for target in opened:
        target.close()
        target.credential.close()


# -- a kernel of the vault's user: its environment and IPython shell ---------------------------------
@pytest.fixture
def vault_env(local_vault, monkeypatch):
    """The environment a kernel of the test vault's user has: KVNB_HOME and KVNB_VAULT=local."""
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    monkeypatch.setenv("KVNB_VAULT", "local")
    for name in (
        "KVNB_PERSONA",
        "KVNB_CACHE_TTL",
        "KVNB_PEEK_POLICY",
        "KVNB_REDACTION",
        "KVNB_VALUE_TTL",
        "KVNB_CREDENTIAL_OPTIONS",
    ):
        monkeypatch.delenv(name, raising=False)
    return local_vault


@pytest.fixture
def ip(vault_env):
    """A real IPython shell with kvnb loaded, unloaded again afterwards."""
    interactive = ipython_shell()
    interactive.run_line_magic("load_ext", "kvnb")
    ledger.ledger.clear()
    yield interactive
    interactive.run_line_magic("unload_ext", "kvnb")
    interactive.config.pop("KvMagics", None)  # %config persists in the shell's config
    for name in [n for n in interactive.user_ns if not n.startswith("_")]:
        if type(interactive.user_ns[name]).__name__ == "Secret":
            del interactive.user_ns[name]
    fetch.close_targets()
    from kvnb import redaction

    redaction.registry.clear()
    redaction.registry.enabled = True


# -- JupyterLab in Debian's Chromium (the browser tests; helpers in labbrowser.py) -------------------
# Module scope: each browser test module starts its own vault, JupyterLab and browser once (each takes
# seconds) and shares them between its tests; every test gets a fresh page.
@pytest.fixture(scope="module")
def chromium(request) -> str:
    """Debian's Chromium; a loud skip (repeated at the end of the run) when it is missing."""
    return chromium_or_skip(request.config)


@pytest.fixture(scope="module")
def seed_vault(chromium, tmp_path_factory):
    """The seeded vault, started as `kvnb local start` runs it; its KVNB_HOME."""
    with background_vault(tmp_path_factory.mktemp("seed-vault")) as home:
        yield home


@pytest.fixture(scope="module")
def lab(chromium, seed_vault, tmp_path_factory):
    """JupyterLab on 127.0.0.1 with a known token; its kernel `kvnb-seed` uses the seed vault."""
    with running_lab(tmp_path_factory.mktemp("jupyterlab"), seed_vault) as started:
        yield started


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1500})
    opened = context.new_page()
    opened.set_default_timeout(60_000)
    yield opened
    context.close()
