"""What the browser tests share: Debian's Chromium (or a loud skip), a local vault started in the
background as `kvnb local start` runs it, JupyterLab on 127.0.0.1 with a known token and kernels of
this venv's Python, and opening a notebook there and running all its cells.

Plain functions and constants; the fixtures built on them (`chromium`, `seed_vault`, `lab`,
`browser`, `page`) are in conftest.py. Playwright is imported only where a browser is driven.
"""

from __future__ import annotations

import json
import os
import secrets as random_source
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest

from kvnbcli import kvnb_cli

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"


# -- a loud skip -----------------------------------------------------------------------------------
class _SkipReporter:
    """Repeats at the end of the run why the browser tests did not run (a skip is easy to miss)."""

    def __init__(self):
        self.reasons: list[str] = []

    def pytest_terminal_summary(self, terminalreporter):
        if self.reasons:
            terminalreporter.write_sep("!", "BROWSER TESTS SKIPPED", red=True, bold=True)
            for reason in dict.fromkeys(self.reasons):
                terminalreporter.write_line(f"WARNING: {reason}", red=True, bold=True)


def chromium_or_skip(config) -> str:
    """The path of Debian's Chromium; when it is missing, skip, and say so again at the end of the run."""
    reporter = config.pluginmanager.get_plugin("kvnb-browser-skips")
    if reporter is None:
        reporter = _SkipReporter()
        config.pluginmanager.register(reporter, "kvnb-browser-skips")
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        reason = (
            f"{CHROMIUM} is missing, so the panel was NOT tested in a browser: install Debian's "
            "`chromium` package (scripts/test does it when run as root)."
        )
        reporter.reasons.append(reason)
        pytest.skip(reason)
    return str(CHROMIUM)


# -- a local vault in the background, as `kvnb local start` runs it --------------------------------------
@contextmanager
def background_vault(home: Path):
    kvnb_cli(home, "local", "start", "--port", "0")
    try:
        yield home
    finally:
        kvnb_cli(home, "local", "stop", timeout=60)


@contextmanager
def kvnb_home(home: Path):
    """This process acts as a user of *home*'s vault (open_vault reads KVNB_HOME)."""
    with mock.patch.dict(os.environ, {"KVNB_HOME": str(home)}):
        os.environ.pop("KVNB_PERSONA", None)
        os.environ.pop("KVNB_VAULT", None)
        yield


# -- JupyterLab ------------------------------------------------------------------------------------
def _kernelspec(directory: Path, name: str, home: Path) -> None:
    spec_dir = directory / "kernels" / name
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"kvnb ({name})",
                "language": "python",
                "env": {"KVNB_HOME": str(home), "KVNB_VAULT": "local", "PYTHONPATH": str(REPO)},
            }
        )
    )


class Lab:
    def __init__(self, url: str, token: str, root: Path, jupyter_path: Path, home: Path | None = None):
        self.url, self.token, self.root, self.jupyter_path = url, token, root, jupyter_path
        self.home = home  # the vault's KVNB_HOME, where the lab's own kernels find it

    def add_kernel(self, name: str, home: Path) -> str:
        """A kernel of this venv's Python using *home*'s vault (JupyterLab lists kernels afresh)."""
        _kernelspec(self.jupyter_path, name, home)
        return name

    def notebook_url(self, name: str) -> str:
        # A workspace per notebook: JupyterLab would otherwise reopen the notebooks of earlier tests.
        return f"{self.url}lab/workspaces/{Path(name).stem}/tree/{name}?token={self.token}"


@contextmanager
def running_lab(base: Path, home: Path):
    """JupyterLab in *base* (its root, paths, config and runtime), with a kernel `kvnb-seed` using
    *home*'s vault; stopped, with the kernels it started, on leaving."""
    root, jupyter_path, config, runtime = (base / n for n in ("root", "path", "config", "runtime"))
    for directory in (root, jupyter_path, config, runtime):
        directory.mkdir()
    _kernelspec(jupyter_path, "kvnb-seed", home)
    # No "official Jupyter news?" toast over the screenshot (and no fetch of the news feed).
    news = config / "lab-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    token = random_source.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_PATH": str(jupyter_path),
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTERLAB_SETTINGS_DIR": str(config / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(config / "workspaces"),
    }
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = (base / "jupyterlab.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root)
    try:
        info = _server_info(runtime, server, base / "jupyterlab.log")
        yield Lab(f"http://127.0.0.1:{info['port']}/", token, root, jupyter_path)
    finally:
        stop_server(server, log)


@contextmanager
def running_demo(base: Path):
    """``./scripts/demo`` as a newcomer runs it (as root when the suite is): the suite's venv, its own
    KVNB_HOME, free ports for the vault and JupyterLab, and the URL the script prints last.

    Yields a Lab whose ``home`` is the vault's KVNB_HOME. The notebooks are served from a copy in
    *base*, and autosave is off, so nothing is written into the repository's notebooks/.
    """
    root, config, runtime, home = (base / n for n in ("root", "config", "runtime", "home"))
    for directory in (root, config, runtime):
        directory.mkdir()
    settings = config / "lab-settings" / "@jupyterlab"
    for extension, name, value in (
        ("apputils-extension", "notification", {"fetchNews": "false"}),
        ("docmanager-extension", "plugin", {"autosave": False}),
    ):
        (settings / extension).mkdir(parents=True)
        (settings / extension / f"{name}.jupyterlab-settings").write_text(json.dumps(value))
    token = random_source.token_hex(16)
    env = {
        **os.environ,
        "KVNB_HOME": str(home),
        "KVNB_LOCAL_PORT": "0",
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTERLAB_SETTINGS_DIR": str(config / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(config / "workspaces"),
    }
    for name in ("KVNB_PERSONA", "KVNB_VAULT"):
        env.pop(name, None)
    command = [
        str(REPO / "scripts" / "demo"),
        "--no-browser",
        "--ServerApp.port=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.extension_manager=readonly",
    ]
    log_path = base / "demo.log"
    log = log_path.open("w")
    demo = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = _demo_url(demo, log_path)
        yield Lab(url.split("lab?", 1)[0], token, root, base / "data", home)
    finally:
        try:
            stop_server(demo, log)
        finally:  # the demo leaves the vault running, as it tells its user
            kvnb_cli(home, "local", "stop", timeout=60)


def _demo_url(demo: subprocess.Popen, log: Path, timeout: float = 600) -> str:
    """The URL on the demo's last line (the install may run first on a machine that lacks it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = log.read_text().splitlines()
        if lines and lines[-1].startswith("JupyterLab is running"):
            return lines[-1].rsplit(" ", 1)[-1]
        if demo.poll() is not None:
            raise AssertionError(f"scripts/demo exited with {demo.returncode}: {log.read_text()[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"scripts/demo printed no URL within {timeout} s: {log.read_text()[-3000:]}")


def stop_server(server: subprocess.Popen, log) -> None:
    """Stop a Jupyter server started in its own session, and the kernels it started."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:  # it has exited already
        log.close()
        return
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
    log.close()


def _server_info(runtime: Path, server: subprocess.Popen, log: Path, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"JupyterLab exited: {log.read_text()[-3000:]}")
        for found in runtime.glob(f"jpserver-{server.pid}.json"):
            try:
                return json.loads(found.read_text())
            except json.JSONDecodeError:  # being written
                pass
        time.sleep(0.2)
    raise AssertionError(f"JupyterLab did not start within {timeout} s: {log.read_text()[-3000:]}")


# -- driving the notebook --------------------------------------------------------------------------
KERNEL_IDLE = """() => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = widget && widget.sessionContext && widget.sessionContext.session
                 && widget.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle';
}"""


def open_and_run(page, lab: Lab, notebook: str, *, before_run: str | None = None) -> None:
    page.goto(lab.notebook_url(notebook))
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)
    if before_run:
        page.evaluate(before_run)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
