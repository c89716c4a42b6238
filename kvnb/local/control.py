"""Drive a local vault from outside: start, stop, status, environment, admin calls.

Used by the `kvnb local` commands, by kvnb's vault resolution (which starts the vault on demand)
and by tests.
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
from dataclasses import dataclass
from pathlib import Path

from .state.paths import StatePaths

START_TIMEOUT = 20.0
SP_VARIABLES = (  # would take precedence over the managed identity in DefaultAzureCredential
    "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME", "AZURE_PASSWORD",
    "IDENTITY_SERVER_THUMBPRINT",
)


class NotRunning(RuntimeError):
    def __init__(self, paths: StatePaths):
        super().__init__(
            f"The local vault is not running (state directory {paths.home}). Run `kvnb local start`."
        )


class StartFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Runtime:
    pid: int
    home: Path
    admin_token: str
    vaults: list[dict]
    challenge_mode: str

    @property
    def first_port(self) -> int:
        return self.vaults[0]["port"]

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.first_port}"

    @property
    def token_endpoint(self) -> str:
        return f"{self.base_url}/msi/token"


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
        pid=info["pid"], home=Path(info["home"]), admin_token=info["admin_token"],
        vaults=info["vaults"], challenge_mode=info.get("challenge_mode", "azure"),
    )


def _ssl(paths: StatePaths) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(paths.ca_cert))


def _request(paths: StatePaths, runtime: Runtime, method: str, path: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        runtime.base_url + path, data=data, method=method,
        headers={"x-kvnb-admin-token": runtime.admin_token, "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, context=_ssl(paths), timeout=30) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}").get("error", exc.reason)
        raise RuntimeError(f"The local vault refused the request: {detail}") from None


def healthy(paths: StatePaths, runtime: Runtime) -> bool:
    try:
        return bool(_request(paths, runtime, "GET", "/_kvnb/admin/health").get("ok"))
    except (OSError, RuntimeError, ValueError):
        return False


def running(paths: StatePaths) -> Runtime | None:
    runtime = read_runtime(paths)
    return runtime if runtime is not None and healthy(paths, runtime) else None


def admin(paths: StatePaths, path: str, body: dict | None = None) -> dict:
    runtime = running(paths)
    if runtime is None:
        raise NotRunning(paths)
    return _request(paths, runtime, "POST", f"/_kvnb/admin/{path}", body or {})


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
    with open(paths.log, "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, close_fds=True)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartFailed(_last_error(paths) or f"The local vault exited with code {proc.returncode}.")
        runtime = read_runtime(paths)
        if runtime is not None and runtime.pid == proc.pid and healthy(paths, runtime):
            return runtime, True
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


def _open_store(paths: StatePaths):
    from .state.store import Store

    return Store(paths)


def status(paths: StatePaths) -> dict:
    """The `kvnb local status --json` document."""
    runtime = running(paths)
    info: dict = {
        "running": runtime is not None,
        "pid": runtime.pid if runtime else None,
        "home": str(paths.home),
        "ca_path": str(paths.ca_cert),
        "ca_bundle": str(paths.ca_bundle),
        "token_endpoint": runtime.token_endpoint if runtime else None,
        "arm_url": runtime.base_url if runtime else None,
        "graph_url": runtime.base_url if runtime else None,
        "tenant_id": None,
        "subscription_id": None,
        "vaults": [],
    }
    if not paths.database.exists():
        return info
    store = _open_store(paths)
    try:
        info["tenant_id"] = store.tenant_id
        info["subscription_id"] = store.subscription_id
        ports = {v["name"].lower(): v["port"] for v in runtime.vaults} if runtime else {}
        for row in store.db.execute("SELECT name, port, resource_group FROM vaults ORDER BY position"):
            port = ports.get(row["name"].lower())
            info["vaults"].append({
                "name": row["name"],
                "url": f"https://127.0.0.1:{port}" if port else None,
                "resource_id": (
                    f"/subscriptions/{store.subscription_id}/resourceGroups/{row['resource_group']}"
                    f"/providers/Microsoft.KeyVault/vaults/{row['name']}"
                ),
            })
    finally:
        store.close()
    return info


def default_persona(paths: StatePaths) -> str:
    """The identity `kvnb local login` chose; `lead` until then."""
    try:
        return paths.login.read_text().strip() or "lead"
    except FileNotFoundError:
        return "lead"


def identity_header(paths: StatePaths, persona: str) -> str:
    store = _open_store(paths)
    try:
        row = store.db.execute(
            "SELECT identity_header, kind, enabled FROM principals WHERE handle = ? COLLATE NOCASE",
            (persona,),
        ).fetchone()
        if row is None:
            handles = [r[0] for r in store.db.execute(
                "SELECT handle FROM principals WHERE identity_header IS NOT NULL ORDER BY handle")]
            raise LookupError(f"No local identity {persona!r}. Known: {', '.join(handles)}.")
        if row["identity_header"] is None:
            raise LookupError(f"{persona!r} is a group; groups cannot sign in.")
        return row["identity_header"]
    finally:
        store.close()


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
    env.update({name: None for name in SP_VARIABLES})
    return env
