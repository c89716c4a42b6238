"""``kvnb secret rotate`` with click's CliRunner against the seeded local vault.

Each value source (hidden prompt, --from-env, --stdin, --generate), the refusal before the value,
--disable-previous and its question, usage errors; no value in stdout or stderr.
"""

from __future__ import annotations

import re
import secrets

import pytest
from click.testing import CliRunner

from kvnb.cli.secret import secret
from kvnb.fingerprint import short_fingerprint
from secretreads import current, versions
from valuecheck import assert_different_value, assert_no_trace, assert_same_value

VERIFIED = re.compile(r"Verified: fingerprint set ([0-9a-f]{12}) = read back ([0-9a-f]{12})\.")


def rotate(*args: str, input: str | None = None, env: dict | None = None):
    return CliRunner().invoke(secret, ["rotate", *args], input=input, env=env, catch_exceptions=False)


def reported_fingerprint(output: str) -> str:
    match = VERIFIED.search(output)
    assert match, output
    assert match[1] == match[2]
    return match[1]


@pytest.fixture
def no_prompt(monkeypatch):
    """getpass that fails the test when asked: the command had to stop before the value."""

    def asked(prompt: str = "") -> str:
        raise AssertionError("getpass was called")

    monkeypatch.setattr("getpass.getpass", asked)


def test_hidden_prompt_sets_the_typed_value(vault_env, monkeypatch):
    value, prompts = secrets.token_urlsafe(32), []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": prompts.append(prompt) or value)
    result = rotate("APICaller", "--reason", "suspected leak")
    assert result.exit_code == 0, result.output
    assert prompts == ["New value for APICaller (hidden): ", "Type it again to confirm: "]
    stored = current(vault_env)
    assert_same_value(stored.value, value)
    assert stored.properties.tags["rotation-reason"] == "suspected leak"
    assert reported_fingerprint(result.stdout) == short_fingerprint(value, vault_env.url)
    assert "Rotating APICaller in azDevOpsKV01 as lead@kvnblocal.onmicrosoft.com" in result.stderr
    assert_no_trace(result.output, value)


def test_prompted_values_that_differ_change_nothing(vault_env, monkeypatch):
    answers = iter([secrets.token_urlsafe(32), secrets.token_urlsafe(32)])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    count = len(versions(vault_env))
    result = rotate("APICaller")
    assert result.exit_code == 2 and "The two values differ: nothing changed" in result.output
    assert "Traceback" not in result.output and len(versions(vault_env)) == count


def test_from_env(vault_env, no_prompt):
    value = secrets.token_urlsafe(32)
    result = rotate("APICaller", "--from-env", "NEW_API_KEY", env={"NEW_API_KEY": value})
    assert result.exit_code == 0, result.output
    assert_same_value(current(vault_env).value, value)
    assert reported_fingerprint(result.stdout) == short_fingerprint(value, vault_env.url)
    assert_no_trace(result.output, value)


def test_from_env_unset_is_a_usage_error(vault_env, no_prompt):
    result = rotate("APICaller", "--from-env", "NOT_SET_ANYWHERE", env={"NOT_SET_ANYWHERE": None})
    assert result.exit_code == 2
    assert "The environment variable NOT_SET_ANYWHERE is not set or empty" in result.output


def test_stdin_without_the_trailing_newline(vault_env, no_prompt):
    value = secrets.token_urlsafe(32)
    result = rotate("APICaller", "--stdin", input=value + "\n")
    assert result.exit_code == 0, result.output
    assert_same_value(current(vault_env).value, value)
    assert_no_trace(result.output, value)


def test_generate_and_the_history_table(vault_env, no_prompt):
    result = rotate("APICaller", "--generate", "32")
    assert result.exit_code == 0, result.output
    stored = current(vault_env)
    length = len(stored.value)  # outside the assert, whose report would show len()'s argument
    assert length == 43
    assert reported_fingerprint(result.stdout) == short_fingerprint(stored.value, vault_env.url)
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("version "))
    assert lines[header].split() == ["version", "created", "enabled", "expires", "rotated", "by", "fingerprint"]
    assert set(lines[header + 1].replace(" ", "")) == {"─"}
    header += 1  # the rule under the header
    newest = lines[header + 1].split()
    assert newest[0] == stored.properties.version[:8] and newest[-1] == reported_fingerprint(result.stdout)
    assert newest[-2] == "lead@kvnblocal.onmicrosoft.com"
    assert len(lines[header + 1 : header + 5]) == 4 and all(
        len(line.split()) < len(newest) for line in lines[header + 2 : header + 5]
    )
    assert "kvnb scan --secret APICaller --all-versions PATH" in result.stdout
    assert_no_trace(result.output, stored.value)


@pytest.mark.parametrize("persona", ["member", "newmember", "aad-team"])
def test_refused_before_the_value_with_the_access_analysis(vault_env, no_prompt, persona):
    count = len(versions(vault_env))
    result = rotate("APICaller", "--persona", persona)
    assert result.exit_code == 2
    assert "Error: You may not set APICaller in azDevOpsKV01: that needs Key Vault Secrets Officer" in result.stderr
    assert "--scope secret/APICaller --for 1h" in result.stderr
    assert "Traceback" not in result.output and "Rotating" not in result.output
    assert len(versions(vault_env)) == count


def test_disable_previous_asks_and_a_no_changes_nothing(vault_env, no_prompt):
    value, count = secrets.token_urlsafe(32), len(versions(vault_env))
    result = rotate(
        "APICaller", "--from-env", "NEW_API_KEY", "--disable-previous", input="n\n", env={"NEW_API_KEY": value}
    )
    assert result.exit_code == 1 and "Cancelled: nothing changed" in result.output
    assert "Clients pinned to one of them (a version in the secret's URL) get 403" in result.stderr
    assert len(versions(vault_env)) == count
    assert_different_value(current(vault_env).value, value)


def test_disable_previous_with_yes(vault_env, no_prompt):
    earlier = {p.version for p in versions(vault_env)}
    result = rotate("APICaller", "--generate", "32", "--disable-previous", "--yes")
    assert result.exit_code == 0, result.output
    assert f"Disabled {len(earlier)} previous version(s)" in result.stdout
    assert {p.version for p in versions(vault_env) if not p.enabled} == earlier


@pytest.mark.parametrize(
    "args, message",
    [
        (["APICaller", "--generate", "32", "--stdin"], "choose one value source, not --stdin and --generate"),
        (["APICaller", "--stdin", "--disable-previous"], "add --yes to --disable-previous"),
        (["APICaller", "--generate", "8"], "Invalid value for '--generate'"),
        ([], "give one secret NAME and known options only (got 0 words"),
        (["APICaller", "--generat", "32"], "give one secret NAME and known options only (got 3 words"),
        (["APICallr", "--generate", "32"], "No secret APICallr in azDevOpsKV01"),
        (["APICaller", "--generate", "32", "--vault", "not a vault!"], "is not a vault name"),
    ],
)
def test_usage_errors_exit_2_without_traceback(vault_env, no_prompt, args, message):
    result = rotate(*args)
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("prefix", ["v", "-", "--"])
def test_a_value_typed_as_an_argument_is_not_echoed(vault_env, no_prompt, prefix):
    # Hex after the prefix: click reads "-…h…" or "-…y…" as a cluster holding its -h (help, exit 0)
    # or -y flag, so a random URL-safe token made this test fail now and then.
    value, count = prefix + secrets.token_hex(24), len(versions(vault_env))
    result = rotate("APICaller", value)
    assert result.exit_code == 2 and "give one secret NAME and known options only" in result.output
    assert_no_trace(result.output, value)
    assert len(versions(vault_env)) == count


def test_kvnb_has_the_secret_group():
    from kvnb.cli import cli

    result = CliRunner().invoke(cli, ["secret", "rotate", "--help"])
    assert result.exit_code == 0, result.output
    assert "--disable-previous" in result.output and "--from-env" in result.output
