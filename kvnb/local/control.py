"""Drive a local vault from outside: start, stop, status, environment, admin calls.

The implementation behind the seam `kvnb.local`, used by the `kvnb local` commands and by tests.
It never opens the vault's database or keys: it reads the owner-only runtime file the server writes
(``server.json``: pid, ports, admin token) and asks the running vault the rest over its
authenticated admin API (tenant, resource ids, principals, identity headers).
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path

from .state.paths import StatePaths

START_TIMEOUT = 20.0
SP_VARIABLES = (  # would take precedence over the managed identity in DefaultAzureCredential
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "IDENTITY_SERVER_THUMBPRINT",
)


class NotRunning(RuntimeError):
    def __init__(self, paths: StatePaths):
        super().__init__(f"The local vault is not running (state directory {paths.home}). Run `kvnb local start`.")


class StartFailed(RuntimeError):
    pass


class AdminError(RuntimeError):
    """The running vault refused an admin call: ``status`` is the HTTP status, ``detail`` its reason."""

    def __init__(self, detail: str, status: int):
        super().__init__(f"The local vault refused the request: {detail}")
        self.detail, self.status = detail, status


@dataclass(frozen=True)
class Runtime:
    """A running local vault as a client knows it: URLs, CA, tenant, identity endpoint.

    ``vaults`` holds one ``{"name", "port", "url", "resource_id"}`` per vault, the first vault first.
    """

    pid: int
    home: Path
    admin_token: str = field(repr=False)
    vaults: list[dict]
    challenge_mode: str
    tenant_id: str | None = None
    subscription_id: str | None = None

    @property
    def first_port(self) -> int:
        return self.vaults[0]["port"]

    @property
    def base_url(self) -> str:
        """The first vault's URL, where ARM, Graph and the token endpoint are served too."""
        return f"https://127.0.0.1:{self.first_port}"

    arm_url = graph_url = base_url

    @property
    def token_endpoint(self) -> str:
        """The managed-identity endpoint (``IDENTITY_ENDPOINT``)."""
        return f"{self.base_url}/msi/token"

    @property
    def ca_path(self) -> Path:
        """The local CA certificate, for ``connection_verify``."""
        return StatePaths(self.home).ca_cert

    @property
    def ca_bundle(self) -> Path:
        """The local CA plus the public roots, for ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE``."""
        return StatePaths(self.home).ca_bundle


def _pid_alive(pid: int) -> bool:
    try:  # reap it if it is our own child (a test that started it), or it lingers as a zombie
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_runtime(paths: StatePaths) -> Runtime | None:
    try:
        info = json.loads(paths.runtime.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if not _pid_alive(info["pid"]):
        return None
    return Runtime(
        pid=info["pid"],
        home=Path(info["home"]),
        admin_token=info["admin_token"],
        vaults=info["vaults"],
        challenge_mode=info.get("challenge_mode", "azure"),
    )


def _ssl(paths: StatePaths) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(paths.ca_cert))


def _request(paths: StatePaths, runtime: Runtime, method: str, path: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        runtime.base_url + path,
        data=data,
        method=method,
        headers={"x-kvnb-admin-token": runtime.admin_token, "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, context=_ssl(paths), timeout=30) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        with exc:
            detail = json.loads(exc.read() or b"{}").get("error", exc.reason)
        raise AdminError(detail, exc.code) from None


def describe(paths: StatePaths, runtime: Runtime) -> Runtime | None:
    """*runtime* completed by the vault itself (tenant, resource ids), or None when it does not answer."""
    try:
        info = _request(paths, runtime, "GET", "/_kvnb/admin/runtime")
    except (OSError, RuntimeError, ValueError):
        return None
    if info.get("pid") != runtime.pid:
        return None
    vaults = [{**v, "url": f"https://127.0.0.1:{v['port']}"} for v in info["vaults"]]
    return replace(
        runtime,
        vaults=vaults,
        tenant_id=info["tenant_id"],
        subscription_id=info["subscription_id"],
        challenge_mode=info["challenge_mode"],
    )


def running(paths: StatePaths) -> Runtime | None:
    runtime = read_runtime(paths)
    return describe(paths, runtime) if runtime is not None else None


def connect(paths: StatePaths, *, start_if_stopped: bool = True) -> Runtime:
    """The running vault; started first when it is not running and *start_if_stopped*."""
    runtime = running(paths)
    if runtime is None:
        if not start_if_stopped:
            raise NotRunning(paths)
        runtime, _ = start(paths)
    return runtime


def admin(paths: StatePaths, path: str, body: dict | None = None, *, method: str = "POST") -> dict:
    """One authenticated admin call (the token from the runtime file); NotRunning when nobody answers."""
    runtime = read_runtime(paths)
    if runtime is None:
        raise NotRunning(paths)
    try:
        return _request(paths, runtime, method, f"/_kvnb/admin/{path}", (body or {}) if method == "POST" else None)
    except urllib.error.URLError:  # the process lives but does not serve (still starting, or stuck)
        raise NotRunning(paths) from None


def start(paths: StatePaths, *, port: int | None = None, extra_args: list[str] | None = None) -> tuple[Runtime, bool]:
    """Start the vault in the background unless it runs; returns (runtime, started_now)."""
    paths.ensure()
    current = running(paths)
    if current is not None:
        return current, False
    cmd = [sys.executable, "-m", "kvnb.local.server", "--home", str(paths.home)]
    if port is not None:
        cmd += ["--port", str(port)]
    cmd += extra_args or []
    paths.runtime.unlink(missing_ok=True)
    with os.fdopen(os.open(paths.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartFailed(_last_error(paths) or f"The local vault exited with code {proc.returncode}.")
        runtime = read_runtime(paths)
        if runtime is not None and runtime.pid == proc.pid:
            described = describe(paths, runtime)
            if described is not None:
                return described, True
        time.sleep(0.05)
    proc.kill()
    raise StartFailed(f"The local vault did not start within {START_TIMEOUT:.0f} s; see {paths.log}.")


def _last_error(paths: StatePaths) -> str:
    try:
        lines = [line for line in paths.log.read_text().splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].removeprefix("kvnb local vault: ") if lines else ""


def stop(paths: StatePaths, timeout: float = 10.0) -> bool:
    """Stop the background vault; False when it was not running."""
    runtime = read_runtime(paths)
    if runtime is None:
        paths.runtime.unlink(missing_ok=True)
        return False
    os.kill(runtime.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(runtime.pid):
        time.sleep(0.05)
    if _pid_alive(runtime.pid):
        os.kill(runtime.pid, signal.SIGKILL)
    paths.runtime.unlink(missing_ok=True)
    return True


def status(paths: StatePaths) -> dict:
    """The `kvnb local status --json` document (tenant and vaults are known while it runs)."""
    runtime = running(paths)
    return {
        "running": runtime is not None,
        "pid": runtime.pid if runtime else None,
        "home": str(paths.home),
        "ca_path": str(paths.ca_cert),
        "ca_bundle": str(paths.ca_bundle),
        "token_endpoint": runtime.token_endpoint if runtime else None,
        "arm_url": runtime.arm_url if runtime else None,
        "graph_url": runtime.graph_url if runtime else None,
        "tenant_id": runtime.tenant_id if runtime else None,
        "subscription_id": runtime.subscription_id if runtime else None,
        "vaults": [
            {"name": v["name"], "url": v["url"], "resource_id": v["resource_id"]}
            for v in (runtime.vaults if runtime else [])
        ],
    }


def default_persona(paths: StatePaths) -> str:
    """The identity `kvnb local login` chose; `lead` until then."""
    try:
        return paths.login.read_text().strip() or "lead"
    except FileNotFoundError:
        return "lead"


def identity_header(paths: StatePaths, persona: str) -> str:
    """*persona*'s ``X-IDENTITY-HEADER``; LookupError for an unknown persona or a group."""
    try:
        return admin(paths, "identity-header", {"persona": persona})["identity_header"]
    except AdminError as exc:
        if exc.status in (400, 404):
            raise LookupError(exc.detail) from None
        raise


def directory(paths: StatePaths) -> dict:
    """``{"principals": [...], "memberships": {member: [group, ...]}}`` of the running vault's tenant."""
    return admin(paths, "directory", method="GET")


def environment(paths: StatePaths, persona: str | None = None, *, vault: str | None = None) -> dict:
    """Variables that make an unmodified SDK program act as *persona* against the local vault.

    Values of None mean "unset this variable".
    """
    runtime = running(paths)
    if runtime is None:
        raise NotRunning(paths)
    persona = persona or default_persona(paths)
    url = runtime.base_url
    if vault:
        match = [v for v in runtime.vaults if v["name"].lower() == vault.lower()]
        if not match:
            raise LookupError(f"No local vault {vault!r}.")
        url = f"https://127.0.0.1:{match[0]['port']}"
    env: dict[str, str | None] = {
        "IDENTITY_ENDPOINT": runtime.token_endpoint,
        "IDENTITY_HEADER": identity_header(paths, persona),
        "REQUESTS_CA_BUNDLE": str(paths.ca_bundle),
        "SSL_CERT_FILE": str(paths.ca_bundle),
        "VAULT_URL": url,
    }
    env.update(dict.fromkeys(SP_VARIABLES))
    return env
