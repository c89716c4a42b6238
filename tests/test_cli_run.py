"""``kvnb run``: a command gets secrets in its environment, and its output shows them masked.

The `kvnb` command runs in a child process, as a user runs it, against the seeded local vault over
TLS; the command it starts is a small Python program. Values are realistic (a PEM key, a connection
string, an 88-character storage key, a password with quotes, `<&` and non-ASCII, a 6-digit PIN) and
are checked by the child itself (it compares a SHA-256 and prints only OK), never printed by a test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import signal
import sys
import time
from pathlib import Path

import pytest

from kvnbcli import run_kvnb
from valuecheck import assert_no_trace, assert_not_leaked

PYTHON = sys.executable


def _pem() -> str:
    body = base64.encodebytes(secrets.token_bytes(300)).decode().strip()
    return f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"


VALUES = {
    "pem-key": _pem,
    "connection-string": lambda: (
        f"Server=tcp:sql.example.net,1433;Database=app;User ID=app;Password={secrets.token_urlsafe(18)};Encrypt=True;"
    ),
    "storage-key": lambda: base64.b64encode(secrets.token_bytes(64)).decode(),
    "password": lambda: f"p'\"<&>é€{secrets.token_hex(6)}ß",
    "pin": lambda: f"{secrets.randbelow(900000) + 100000}",
}


def assert_no_trace_of(value: str, text: str) -> None:
    """valuecheck's strictest check (every form, every 8 characters) where it applies; a PIN is too
    short for it (its scanner refuses values under 8 characters), so a PIN must simply not appear."""
    __tracebackhide__ = True
    if len(value) >= 8:
        assert_no_trace(text, value)
    else:
        assert_not_leaked(value, text)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# The child: checks the variable against a digest and says only OK or WRONG.
CHECK = (
    "import hashlib, os, sys; v = os.environ.get(sys.argv[1]);"
    "print('OK' if v is not None and hashlib.sha256(v.encode()).hexdigest() == sys.argv[2] else 'WRONG')"
)
# The child misbehaving: the value in every way a program leaks one, some of it a few characters per write.
LEAK = r"""
import base64, json, os, sys, time
v = os.environ['LEAKED']
print('raw:', v)
print('json:', json.dumps({'password': v}))
print('base64:', base64.b64encode(v.encode()).decode())
for i in range(0, len(v), 3):
    sys.stdout.write(v[i:i + 3]); sys.stdout.flush(); time.sleep(0.002)
print()
sys.stderr.write('error: bad credential ' + v[:len(v) // 2]); sys.stderr.flush(); time.sleep(0.05)
sys.stderr.write(v[len(v) // 2:] + ' rejected\n')
print('done')
"""


@pytest.fixture
def child_home(tmp_path) -> dict:
    """HOME and TMPDIR of their own for kvnb and the command, to look for files afterwards."""
    for name in ("home", "tmp"):
        (tmp_path / name).mkdir()
    return {"HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path / "tmp")}


@pytest.fixture
def stored(governed_vault):
    """Factory: set a secret with a value of the given shape as the lead; returns the value."""
    client = governed_vault.secret_client("lead")

    def store(name: str, shape: str) -> str:
        value = VALUES[shape]()
        client.set_secret(name, value)
        return value

    return store


def kvnb_run(vault, *args: str, env: dict | None = None, input: str | None = None):
    return run_kvnb(vault.paths.home, "run", *args, env={"KVNB_VAULT": "local", **(env or {})}, input=input)


def files_containing(value: str, *roots: Path, since: float = 0) -> list[str]:
    """Files under *roots* (changed at or after *since*) whose bytes hold *value*."""
    needle = value.encode("utf-8")
    found = []
    for root in roots:
        for path in Path(root).rglob("*"):
            if path.is_file() and path.stat().st_mtime >= since and needle in path.read_bytes():
                found.append(str(path))
    return found


@pytest.mark.parametrize("shape", VALUES)
def test_the_value_reaches_the_command_and_no_file(governed_vault, stored, child_home, shape):
    value = stored("RunSecret", shape)
    started = time.time() - 1
    done = kvnb_run(
        governed_vault,
        "--persona",
        "lead",
        "--secret",
        "RunSecret=RUN_VALUE",
        "--",
        PYTHON,
        "-c",
        CHECK,
        "RUN_VALUE",
        _digest(value),
        env=child_home,
    )
    assert (done.returncode, done.stdout) == (0, "OK\n"), done.stderr[-2000:]
    assert_no_trace_of(value, done.stdout + done.stderr)
    # Six digits turn up by chance in any key file: for a PIN, only files written by the run count.
    since = started if len(value) < 8 else 0
    assert files_containing(value, governed_vault.paths.home, *child_home.values(), since=since) == []


@pytest.mark.parametrize("shape", ["connection-string", "storage-key", "password", "pem-key"])
def test_a_value_the_command_prints_is_masked_on_stdout_and_stderr(governed_vault, stored, child_home, shape):
    value = stored("LeakySecret", shape)
    done = kvnb_run(
        governed_vault, "--persona", "lead", "--secret", "LeakySecret=LEAKED", "--", PYTHON, "-c", LEAK, env=child_home
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert_no_trace(done.stdout, value)
    assert_no_trace(done.stderr, value)
    assert "raw: [secret LeakySecret redacted]" in done.stdout
    assert "[secret LeakySecret redacted, base64]" in done.stdout
    assert done.stdout.count("[secret LeakySecret redacted") >= 4  # raw, json, base64, the pieces
    assert done.stdout.endswith("done\n")
    assert "[secret LeakySecret redacted] rejected" in done.stderr


def test_no_mask_shows_what_the_command_prints(governed_vault, stored):
    value = stored("ShownSecret", "storage-key")
    done = kvnb_run(
        governed_vault,
        "--persona",
        "lead",
        "--secret",
        "ShownSecret=LEAKED",
        "--no-mask",
        "--",
        PYTHON,
        "-c",
        "import os; print(os.environ['LEAKED'][:4] == os.environ['LEAKED'][:4])",
    )
    assert (done.returncode, done.stdout) == (0, "True\n"), done.stderr[-2000:]
    unmasked = kvnb_run(
        governed_vault,
        "--persona",
        "lead",
        "--secret",
        "ShownSecret=LEAKED",
        "--no-mask",
        "--",
        PYTHON,
        "-c",
        "import os; print(os.environ['LEAKED'])",
    )
    assert "redacted" not in unmasked.stdout  # --no-mask is what it says; the text is not kept
    assert unmasked.stdout.strip() and len(unmasked.stdout.strip()) == len(value)


def test_stdin_passes_through_and_an_existing_variable_is_replaced_with_a_note(governed_vault, stored):
    value = stored("RunSecret", "password")
    program = CHECK + "; print(sys.stdin.read().strip().upper())"
    done = kvnb_run(
        governed_vault,
        "--persona",
        "lead",
        "--secret",
        "RunSecret=RUN_VALUE",
        "--",
        PYTHON,
        "-c",
        program,
        "RUN_VALUE",
        _digest(value),
        env={"RUN_VALUE": "left over from the shell"},
        input="from the pipe\n",
    )
    assert (done.returncode, done.stdout) == (0, "OK\nFROM THE PIPE\n"), done.stderr[-2000:]
    assert "RUN_VALUE is set in the environment; the secret replaces it" in done.stderr


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        ("import sys; sys.exit(7)", 7),
        ("import sys; sys.exit(0)", 0),
        ("import os, signal; os.kill(os.getpid(), signal.SIGTERM)", 128 + signal.SIGTERM),
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", 128 + signal.SIGKILL),
    ],
)
def test_the_exit_code_is_the_commands(governed_vault, stored, program, expected):
    stored("RunSecret", "pin")
    done = kvnb_run(governed_vault, "--persona", "lead", "--secret", "RunSecret=PIN", "--", PYTHON, "-c", program)
    assert done.returncode == expected, done.stderr[-2000:]


def test_a_command_that_does_not_exist_exits_127(governed_vault, stored):
    stored("RunSecret", "pin")
    done = kvnb_run(governed_vault, "--persona", "lead", "--secret", "RunSecret=PIN", "--", "no-such-command-kvnb")
    assert done.returncode == 127
    assert "command not found: no-such-command-kvnb" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--persona", "newmember", "--secret", "APICaller=API_KEY"], "Access denied"),
        (["--persona", "lead", "--secret", "ApiCaler=API_KEY"], "Did you mean APICaller?"),
        (["--persona", "lead", "--secret", "APICaller"], "--secret takes SECRET=ENVVAR"),
        (["--persona", "lead", "--secret", "APICaller=1API"], "is not an environment variable name"),
        (["--persona", "lead", "--secret", "bad_name=API"], "is not a secret name"),
        (["--persona", "lead", "--secret", "APICaller=KEY", "--secret", "WebhookSigningKey=KEY"], "KEY is given twice"),
    ],
)
def test_when_kvnb_cannot_fetch_it_exits_2_and_starts_nothing(governed_vault, tmp_path, args, message):
    marker = tmp_path / "the-command-ran"
    done = kvnb_run(governed_vault, *args, "--", PYTHON, "-c", f"open({str(marker)!r}, 'w').close()")
    assert done.returncode == 2, done.stderr[-2000:]
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert not marker.exists()


def test_a_value_typed_as_the_binding_is_not_repeated(governed_vault, tmp_path):
    typed = "Pa55+w0rd/" + secrets.token_urlsafe(12) + "=="
    done = kvnb_run(governed_vault, "--persona", "lead", "--secret", f"APICaller={typed}", "--", PYTHON, "-c", "")
    assert done.returncode == 2
    assert_not_leaked(typed, done.stdout + done.stderr)
    assert_not_leaked(typed[10:], done.stdout + done.stderr)


def test_without_a_command_it_is_a_usage_error(governed_vault):
    done = kvnb_run(governed_vault, "--persona", "lead", "--secret", "APICaller=API_KEY")
    assert done.returncode == 2
    assert "Missing argument" in done.stderr


def test_json_form_of_a_value_with_quotes_is_masked(governed_vault, stored):
    value = stored("QuotedSecret", "password")
    program = (
        "import json, os; print(json.dumps(os.environ['Q'])); print(json.dumps(os.environ['Q'], ensure_ascii=False))"
    )
    done = kvnb_run(governed_vault, "--persona", "lead", "--secret", "QuotedSecret=Q", "--", PYTHON, "-c", program)
    assert done.returncode == 0, done.stderr[-2000:]
    assert_no_trace(done.stdout, value)
    assert_not_leaked(json.dumps(value), done.stdout)
    assert done.stdout.count("[secret QuotedSecret redacted") == 2


def test_the_environment_of_kvnb_itself_is_left_alone(governed_vault, stored):
    stored("RunSecret", "pin")
    before = dict(os.environ)
    kvnb_run(governed_vault, "--persona", "lead", "--secret", "RunSecret=PIN", "--", PYTHON, "-c", "")
    assert "PIN" not in os.environ and dict(os.environ) == before
