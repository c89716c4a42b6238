"""Binder's files do what repo2docker expects: postBuild installs kvnb from source, start starts the vault.

The test plays repo2docker offline: it copies the repository's files into a temporary folder (the
image's working copy), makes a fresh virtual environment, runs ``binder/postBuild`` there, then
``binder/start`` with a command that executes notebook 02 in a temporary HOME.

The fresh environment gets its *dependencies* from this project's environment through a ``.pth``
file, and pip runs with ``PIP_NO_INDEX`` and without build isolation, so nothing is downloaded
(tests use the network on 127.0.0.1 only). ``venv --system-site-packages`` would not do: made from
a virtual environment's Python it exposes the base interpreter's packages, not this project's.
kvnb itself is built from the copied sources and installed into the fresh environment, which is
what the test checks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import nbformat
import pytest

from valuecheck import assert_not_leaked

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("pyproject.toml", "README.md", "kvnb", "notebooks", "binder")
RUN_NOTEBOOK = """
import os
import sys
import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

source, executed = sys.argv[1:3]
nb = nbformat.read(source, as_version=4)
nb.cells.append(new_code_cell("import sys, kvnb\\nprint('kernel', sys.executable)\\nprint('kvnb', kvnb.__file__)",
                              id="probe"))
# As Jupyter's server does: the kernel starts in the notebook's folder.
NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": os.path.dirname(source)}}).execute()
nbformat.write(nb, executed)
"""


def copy_repository(target: Path) -> Path:
    """What repo2docker copies into the image, without caches and build leftovers."""
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".ipynb_checkpoints")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    return target


def fresh_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(
        subprocess.run(
            [str(path / "bin" / "python"), "-c", where], check=True, capture_output=True, text=True, timeout=60
        ).stdout.strip()
    )
    # Dependencies (and pip, and setuptools for the build) from this project's environment.
    (site / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return path


def binder_env(venv: Path, home: Path) -> dict[str, str]:
    """A minimal environment like a Binder container's: no KVNB_* from the test run, its own HOME."""
    return {
        "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",  # pip's inverted spelling: 0 turns build isolation off
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "KVNB_LOCAL_PORT": "0",  # any free port: 8443 may be taken on a developer's machine
    }


def test_postbuild_installs_kvnb_from_source_and_start_serves_notebook_02(tmp_path):
    major = int(metadata.version("setuptools").split(".")[0])
    assert major >= 77, (
        "Building kvnb offline needs setuptools>=77 in the test environment (pyproject's "
        "`license = \"MIT\"` is a PEP 639 expression): pip install 'setuptools>=77'."
    )
    repo = copy_repository(tmp_path / "repo")
    venv = fresh_venv(tmp_path / "venv")
    home = tmp_path / "home"
    home.mkdir()
    env = binder_env(venv, home)

    build = subprocess.run(
        ["bash", "binder/postBuild"], cwd=repo, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import kvnb; print(kvnb.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert Path(installed.stdout.strip()).is_relative_to(venv), "kvnb is installed into the fresh environment"
    assert (venv / "bin" / "kvnb").exists()

    runner = tmp_path / "run_notebook.py"
    runner.write_text(RUN_NOTEBOOK)
    executed = tmp_path / "executed-02.ipynb"
    try:
        started = subprocess.run(
            [
                "binder/start",
                str(venv / "bin" / "python"),
                str(runner),
                "notebooks/02_new_team_member.ipynb",
                str(executed),
            ],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        assert "Started local vault" in started.stdout
        value = _current_api_caller(home)
    finally:
        subprocess.run(
            [str(venv / "bin" / "kvnb"), "local", "stop"], env=env, capture_output=True, timeout=60, check=False
        )

    nb = nbformat.read(executed, as_version=4)
    outputs = {cell.get("id"): "".join(o.get("text", "") for o in cell.get("outputs", [])) for cell in nb.cells}
    assert "Refused: Access denied" in outputs["step1-refused"]
    assert "API answered 200 OK" in outputs["step6-call"]
    kernel, module = outputs["probe"].splitlines()
    assert Path(kernel.removeprefix("kernel ")).parent == venv / "bin", "the kernel ran in the Binder environment"
    assert Path(module.removeprefix("kvnb ")).is_relative_to(venv), "…with kvnb as postBuild installed it"
    assert_not_leaked(value, executed.read_text(encoding="utf-8"))


def _current_api_caller(home: Path) -> str:
    """APICaller's value from the vault binder/start started (its state is in HOME/.kvnb)."""
    from kvnb.local import control
    from kvnb.local.state.paths import StatePaths

    paths = StatePaths.resolve(home / ".kvnb")
    runtime = control.running(paths)
    assert runtime is not None, "binder/start left the local vault running in ~/.kvnb"
    from azure.keyvault.secrets import SecretClient

    from kvnb.credentials import LocalVaultCredential

    credential = LocalVaultCredential(
        runtime.token_endpoint,
        control.identity_header(paths, "lead"),
        persona="lead",
        connection_verify=str(paths.ca_cert),
    )
    try:
        with SecretClient(
            runtime.base_url, credential, verify_challenge_resource=False, connection_verify=str(paths.ca_cert)
        ) as client:
            return client.get_secret("APICaller").value
    finally:
        credential.close()
