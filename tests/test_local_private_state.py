"""The state directory on a shared machine: nobody but its owner reads a file of it or gets a token.

The story of issue 16: `%load_ext kvnb` ran before `kvnb local start` and made ``KVNB_HOME`` 0755, the
database 0644; user ``nobody`` copied it, read ``lead``'s identity header and asked the token endpoint
for a token. Here the state directory sits in a world-traversable directory, is first made by
``%load_ext kvnb`` in a real IPython shell, then holds a running vault. As root, a child dropped to
uid 65534 with ``setpriv`` tries that attack and gets nothing; with the old modes put back, the same
child succeeds (the positive control proves the attack is real, not blocked by something else).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from kvnb import local
from kvnb.cli import cli

PUBLIC = {"ca.pem", "server.pem", "ca-bundle.pem"}
NOBODY = 65534
TESTS = Path(__file__).parent

LOAD_EXT = """
import sys
sys.path.insert(0, {tests!r})
from ipshell import ipython_shell
ipython_shell().run_line_magic("load_ext", "kvnb")
"""

# Run as nobody, with the standard library only: read every file; copy the database (the WAL too)
# and take lead's identity header from it; ask the token endpoint for a Key Vault token with it.
ATTACK = r"""
import json, os, shutil, sqlite3, ssl, sys, tempfile, urllib.request
files, database, endpoint = json.loads(sys.argv[1])
readable = []
for path in files:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        readable.append(os.path.relpath(path, os.path.dirname(database)))
    except OSError:
        pass
token, failure = False, None
try:
    work = tempfile.mkdtemp()
    copy = os.path.join(work, "copy.db")
    shutil.copyfile(database, copy)
    if os.path.exists(database + "-wal"):
        shutil.copyfile(database + "-wal", copy + "-wal")
    header = sqlite3.connect(copy).execute("SELECT identity_header FROM principals WHERE handle = 'lead'").fetchone()[0]
    request = urllib.request.Request(endpoint + "?api-version=2019-08-01&resource=https://vault.azure.net",
                                     headers={"X-IDENTITY-HEADER": header, "Metadata": "true"})
    with urllib.request.urlopen(request, context=ssl._create_unverified_context(), timeout=10) as response:
        token = "access_token" in json.load(response)
except Exception as exc:
    failure = type(exc).__name__
print(json.dumps({"readable": sorted(readable), "token": token, "failure": failure}))
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _files(home: Path) -> list[Path]:
    return sorted(p for p in home.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def shared_home():
    """A state directory made by `%load_ext kvnb` inside a world-traversable directory, with the
    local vault running from it (started in the background, as `kvnb local start` does)."""
    shared = Path(tempfile.mkdtemp(prefix="kvnb-shared-"))
    shared.chmod(0o755)  # like /tmp/some-lab-dir: anyone may pass through it
    home = shared / "home"
    env = {**os.environ, "KVNB_HOME": str(home)}
    made = subprocess.run(
        [sys.executable, "-c", LOAD_EXT.format(tests=str(TESTS))], env=env, capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stderr[-2000:]
    assert home.is_dir(), "%load_ext kvnb made the state directory (for its save-guard file)"
    made_by_load_ext = _mode(home)
    runtime, started = local.start(home, port=0)
    assert started
    try:
        yield home, runtime, made_by_load_ext
    finally:
        local.stop(home)
        shutil.rmtree(shared, ignore_errors=True)


def test_the_state_directory_load_ext_makes_is_private_and_stays_so(shared_home):
    home, _runtime, made_by_load_ext = shared_home
    assert made_by_load_ext == 0o700
    assert _mode(home) == 0o700 and _mode(home / "guard") == 0o700
    names = {p.relative_to(home).as_posix() for p in _files(home)}
    assert {
        "state.db",
        "state.db-wal",
        "state.db-shm",
        "master.key",
        "server.json",
        "server.log",
        "token-signing-key.pem",
        "ca-key.pem",
        "server-key.pem",
    } <= names
    for path in _files(home):
        if path.name not in PUBLIC:  # certificates are public; nothing else is
            assert _mode(path) == 0o600, f"{path.name} is {_mode(path):04o}"


def _attack(home: Path, runtime) -> dict:
    files = [str(p) for p in _files(home)]
    argument = json.dumps([files, str(home / "state.db"), runtime.token_endpoint])
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("LOUD SKIP: no system python3 that uid 65534 can run (the venv's may sit under /root)")
    done = subprocess.run(
        ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups", python, "-c", ATTACK, argument],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.skipif(
    os.geteuid() != 0,
    reason="LOUD SKIP: acting as another user (setpriv to uid 65534) "
    "needs root; the modes are still checked by the test above",
)
def test_another_user_reads_no_state_file_and_gets_no_token(shared_home):
    home, runtime, _ = shared_home
    if shutil.which("setpriv") is None:
        pytest.skip("LOUD SKIP: setpriv (util-linux) is not installed")

    locked = _attack(home, runtime)
    assert locked["readable"] == [] and locked["token"] is False, locked

    # Positive control: the modes an older kvnb left (0755 directories, 0644 files) let the very same
    # child read the files, lift lead's identity header out of the database and get a token.
    for path in [home, home / "guard"]:
        path.chmod(0o755)
    for path in _files(home):
        path.chmod(0o644)
    try:
        opened = _attack(home, runtime)
    finally:
        for path in _files(home):
            path.chmod(0o644 if path.name in PUBLIC else 0o600)
        for path in [home, home / "guard"]:
            path.chmod(0o700)
    assert {"state.db", "master.key", "server.json"} <= set(opened["readable"]), opened
    assert opened["token"] is True, opened


# The client half of the seam never opens the vault's database or keys: an audit hook in a fresh
# process watches every open() and sqlite3.connect() while kvnb opens the local vault as a notebook
# does, resolves principals and reads the status.
CLIENT = r"""
import json, sys
touched = []
def watch(event, args):
    if event in ("open", "sqlite3.connect") and args and str(args[0]).rsplit("/", 1)[-1].startswith(
            ("state.db", "master.key", "token-signing-key", "ca-key", "server-key")):
        touched.append(f"{event} {str(args[0]).rsplit('/', 1)[-1]}")
sys.addaudithook(watch)
from kvnb import access, local
from kvnb.vault import open_vault
target = open_vault("local", persona="member")
found = [p.id for p in access.local_resolver().search("member")]
groups = access.local_resolver().member_of(found[0])
info = local.status()
env = local.environment("lead")
target.close()
print(json.dumps({"touched": touched, "found": len(found), "groups": len(groups), "tenant": bool(info["tenant_id"]),
                  "resource_id": target.known_resource_id, "header_set": bool(env["IDENTITY_HEADER"])}))
"""


def test_the_client_never_opens_the_store_or_the_keys(shared_home):
    home, _runtime, _ = shared_home
    done = subprocess.run(
        [sys.executable, "-c", CLIENT],
        env={**os.environ, "KVNB_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["touched"] == []
    assert seen["found"] == 1 and seen["groups"] >= 1 and seen["tenant"] and seen["header_set"]
    assert seen["resource_id"] == local.status(home)["vaults"][0]["resource_id"]


def test_admin_routes_say_nothing_useful_without_the_admin_token(local_vault):
    import ssl
    import urllib.error
    import urllib.request

    context = ssl.create_default_context(cafile=local_vault.ca)
    with urllib.request.urlopen(f"{local_vault.url}/_kvnb/admin/health", context=context) as response:
        assert json.loads(response.read()) == {"ok": True}  # not which port is which vault
    for method, route in [
        ("GET", "runtime"),
        ("GET", "directory"),
        ("POST", "identity-header"),
        ("POST", "reset"),
        ("POST", "vaults"),
    ]:
        data = json.dumps({"persona": "lead"}).encode() if method == "POST" else None
        request = urllib.request.Request(
            f"{local_vault.url}/_kvnb/admin/{route}",
            data=data,
            method=method,
            headers={"x-kvnb-admin-token": "guessed"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, context=context)
        assert refused.value.code == 403, route
        assert "identity_header" not in refused.value.read().decode()
        refused.value.close()


def test_kvnb_local_start_closes_a_state_directory_left_open(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    (home / "login").write_text("member\n")
    (home / "login").chmod(0o644)
    monkeypatch.setenv("KVNB_HOME", str(home))
    try:
        result = CliRunner().invoke(cli, ["local", "start", "--port", "0"])
        assert result.exit_code == 0, result.output
        assert f"Closed the state directory {home}" in result.output
        assert "login 0644 → 0600" in result.output and "0755 → 0700" in result.output
    finally:
        local.stop(home)
    assert _mode(home) == 0o700 and _mode(home / "login") == 0o600
    assert _mode(home / "ca.pem") & 0o044  # the public certificates are left readable
