"""%kvrotate in a real IPython shell against the seeded local vault.

The value comes from a (monkeypatched) ``getpass``, an environment variable or ``--generate``; the
refusal comes before the prompt; no value reaches any output. Redaction is switched off in the
output checks, so they prove the magic itself never prints a value (not that redaction hid it).
"""

from __future__ import annotations

import re
import secrets

import pytest
from IPython.core.error import StdinNotImplementedError, UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from ipshell import run
from kvnb.fingerprint import short_fingerprint
from kvnb.magics import kvrotate as kvrotate_module
from secretreads import current, versions
from valuecheck import assert_no_trace, assert_same_value

VERIFIED = re.compile(r"Verified: fingerprint set ([0-9a-f]{12}) = read back ([0-9a-f]{12})\.")


@magics_class
class _Standalone(Magics):
    """%kvrotate on its own, used only while KvMagics does not carry it yet."""

    kvrotate = line_magic(kvrotate_module.kvrotate)


@pytest.fixture
def kvrotate_ip(ip):
    """The `ip` shell, with %kvrotate however it is available, and redaction off."""
    standalone = "kvrotate" not in ip.magics_manager.magics["line"]
    if standalone:
        ip.register_magics(_Standalone(shell=ip))
    run(ip, "%config KvMagics.redaction = False")
    yield ip
    if standalone:
        ip.magics_manager.magics["line"].pop("kvrotate", None)
        ip.magics_manager.registry.pop(_Standalone.__name__, None)


def _registered_by_kvnb(ip) -> bool:
    owner = getattr(ip.magics_manager.magics["line"].get("kvrotate"), "__self__", None)
    return type(owner).__name__ == "KvMagics"


@pytest.fixture
def prompt(monkeypatch):
    """getpass answering from a list; ``prompt.asked`` holds the prompts shown."""

    class Prompt:
        def __init__(self):
            self.answers, self.asked = [], []

        def __call__(self, text: str = "") -> str:
            self.asked.append(text)
            if not self.answers:
                raise AssertionError("getpass was called")
            return self.answers.pop(0)

    fake = Prompt()
    monkeypatch.setattr("getpass.getpass", fake)
    return fake


def fingerprint_in(out: str) -> str:
    match = VERIFIED.search(out)
    assert match and match[1] == match[2], out
    return match[1]


def test_load_ext_registers_kvrotate(ip):
    assert _registered_by_kvnb(ip), "add `kvrotate = line_magic(kvrotate)` to KvMagics"


def test_hidden_prompt_rotates_and_shows_fingerprints_and_history(kvrotate_ip, vault_env, prompt, capsys):
    value = secrets.token_urlsafe(32)
    prompt.answers = [value, value]
    run(kvrotate_ip, '%kvrotate APICaller --reason "suspected leak" --persona lead')
    out = capsys.readouterr().out
    stored = current(vault_env)
    assert_same_value(stored.value, value)
    assert stored.properties.tags["rotation-reason"] == "suspected leak"  # quotes removed
    assert fingerprint_in(out) == short_fingerprint(value, vault_env.url)
    assert prompt.asked == ["New value for APICaller (hidden): ", "Type it again to confirm: "]
    assert re.search(r"version\s+created\s+enabled\s+expires\s+rotated by\s+fingerprint", out)  # the table
    assert stored.properties.version[:8] in out
    assert_no_trace(out, value)
    assert all(value not in str(cell) for cell in kvrotate_ip.history_manager.input_hist_raw)


def test_from_env_and_generate(kvrotate_ip, vault_env, prompt, capsys, monkeypatch):
    value = secrets.token_urlsafe(32)
    monkeypatch.setenv("NEW_API_KEY", value)
    run(kvrotate_ip, "%kvrotate APICaller --from-env NEW_API_KEY")
    first = capsys.readouterr().out
    assert_same_value(current(vault_env).value, value)
    assert fingerprint_in(first) == short_fingerprint(value, vault_env.url)
    run(kvrotate_ip, "%kvrotate APICaller --generate 24")
    second = capsys.readouterr().out
    generated = current(vault_env).value
    length = len(generated)  # outside the assert, whose report would show len()'s argument
    assert length == 32 and fingerprint_in(second) == short_fingerprint(generated, vault_env.url)
    assert_no_trace(first + second, value, generated)


@pytest.mark.parametrize("persona", ["member", "aad-team"])
def test_refused_before_the_prompt(kvrotate_ip, vault_env, prompt, persona):
    count = len(versions(vault_env))
    with pytest.raises(UsageError) as refused:
        run(kvrotate_ip, f"%kvrotate APICaller --persona {persona}")
    assert "You may not set APICaller in azDevOpsKV01: that needs Key Vault Secrets Officer" in str(refused.value)
    assert f"%kvaccess grant {persona}@" in str(refused.value)
    assert prompt.asked == [] and len(versions(vault_env)) == count


def test_disable_previous_asks_first(kvrotate_ip, vault_env, prompt, capsys, monkeypatch):
    earlier = {p.version for p in versions(vault_env)}
    monkeypatch.setattr("builtins.input", lambda text="": "n")
    with pytest.raises(UsageError, match="Cancelled: nothing changed"):
        run(kvrotate_ip, "%kvrotate APICaller --generate 32 --disable-previous")
    assert "Clients pinned to one of them" in capsys.readouterr().out
    assert {p.version for p in versions(vault_env)} == earlier
    monkeypatch.setattr("builtins.input", lambda text="": "y")
    run(kvrotate_ip, "%kvrotate APICaller --generate 32 --disable-previous")
    assert f"Disabled {len(earlier)} previous version(s)" in capsys.readouterr().out
    assert {p.version for p in versions(vault_env) if not p.enabled} == earlier


def test_a_frontend_without_input_gets_told_what_to_use(kvrotate_ip, vault_env, monkeypatch):
    def no_stdin(prompt=""):
        raise StdinNotImplementedError("getpass was called, but this frontend does not support input requests.")

    monkeypatch.setattr("getpass.getpass", no_stdin)
    with pytest.raises(UsageError, match=r"cannot ask for input .*; use --from-env VAR or --generate N"):
        run(kvrotate_ip, "%kvrotate APICaller")
    monkeypatch.setattr("builtins.input", no_stdin)
    with pytest.raises(UsageError, match="add --yes to --disable-previous"):
        run(kvrotate_ip, "%kvrotate APICaller --generate 32 --disable-previous")


def test_usage_errors(kvrotate_ip, vault_env, prompt):
    value = "v" + secrets.token_urlsafe(32)  # token_urlsafe may start with "-", which reads as an option
    with pytest.raises(UsageError) as typed:
        run(kvrotate_ip, f"%kvrotate APICaller {value}")
    assert "takes one secret name (got 2)" in str(typed.value)
    assert_no_trace(str(typed.value), value)
    dashed = "--" + secrets.token_urlsafe(32)
    with pytest.raises(UsageError) as unknown:
        run(kvrotate_ip, f"%kvrotate APICaller {dashed}")
    assert "unknown option or a word too many" in str(unknown.value)
    assert_no_trace(str(unknown.value), dashed)
    with pytest.raises(UsageError, match="Choose --from-env or --generate"):
        run(kvrotate_ip, "%kvrotate APICaller --from-env X --generate 32")
    with pytest.raises(UsageError, match="Generate 16 to 1024 random bytes"):
        run(kvrotate_ip, "%kvrotate APICaller --generate 4")
    with pytest.raises(UsageError, match="is not a secret name"):
        run(kvrotate_ip, "%kvrotate 'not a name'")
    assert prompt.asked == []
