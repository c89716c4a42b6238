"""KvMagics settings: one order (argument → %config → KVNB_* → default), each one documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from ipshell import ipython_shell, run
from kvnb.magics import KvMagics
from kvnb.magics.settings import SETTINGS, SettingError, effective

DOCS = Path(__file__).resolve().parents[1] / "docs" / "magics.md"


def test_every_setting_is_a_configurable_trait_with_help():
    traits = KvMagics.class_traits(config=True)
    assert set(SETTINGS) <= set(traits)
    for name in SETTINGS:
        assert traits[name].help, name


def test_every_setting_and_its_variable_is_documented():
    text = DOCS.read_text()
    for setting in SETTINGS.values():
        assert f"KvMagics.{setting.name}" in text, setting.name
        assert setting.env in text, setting.env


def test_every_magic_option_is_documented():
    from kvnb.magics import kvaccess

    text = DOCS.read_text()
    parsers = [KvMagics.kvget.parser, kvaccess.show.PARSER] + [parser for parser, _ in kvaccess.SUBCOMMANDS.values()]
    for parser in parsers:
        for action in parser._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert re.search(re.escape(flag) + r"\b", text), flag


def test_order_is_argument_then_config_then_environment_then_default(monkeypatch):
    class Settings:
        cache_ttl = None

    settings = Settings()
    monkeypatch.delenv("KVNB_CACHE_TTL", raising=False)
    assert effective(settings, "cache_ttl") == 0.0
    monkeypatch.setenv("KVNB_CACHE_TTL", "30")
    assert effective(settings, "cache_ttl") == 30.0
    settings.cache_ttl = 10.0
    assert effective(settings, "cache_ttl") == 10.0
    assert effective(settings, "cache_ttl", 5.0) == 5.0


@pytest.mark.parametrize(
    "name, text, value",
    [
        ("redaction", "off", False),
        ("redaction", "ON", True),
        ("peek_policy", "8", 8),
        ("peek_policy", "allow", "allow"),
        ("credential_options", '{"tenant_id": "t"}', {"tenant_id": "t"}),
        ("redact_min_run", "24", 24),
    ],
)
def test_environment_values_are_parsed(monkeypatch, name, text, value):
    monkeypatch.setenv(SETTINGS[name].env, text)
    assert effective(None, name) == value


@pytest.mark.parametrize(
    "name, text",
    [
        ("redaction", "maybe"),
        ("cache_ttl", "-1"),
        ("credential_options", "[1]"),
        ("redact_min_run", "4"),
        ("redact_min_run", "sixteen"),
    ],
)
def test_bad_environment_values_say_which_variable(monkeypatch, name, text):
    monkeypatch.setenv(SETTINGS[name].env, text)
    with pytest.raises(SettingError, match=SETTINGS[name].env):
        effective(None, name)


def test_vault_order_in_the_magic(ip, vault_env, monkeypatch):
    vault_env.admin("vaults", {"name": "other", "port": 0})  # an empty second vault
    # KVNB_VAULT=local (the fixture) finds APICaller in the first vault.
    run(ip, "%kvget APICaller --persona lead")
    run(ip, "%config KvMagics.vault = 'local:other'")
    with pytest.raises(UsageError, match="No secret APICaller in other"):
        run(ip, "%kvget APICaller --persona lead")
    run(ip, "%kvget APICaller --vault local --persona lead")
    run(ip, "%config KvMagics.vault = None")
    monkeypatch.setenv("KVNB_VAULT", "local:other")
    with pytest.raises(UsageError, match="in other"):
        run(ip, "%kvget APICaller --persona lead")


def test_persona_setting_and_environment(ip, monkeypatch):
    monkeypatch.setenv("KVNB_PERSONA", "newmember")
    with pytest.raises(UsageError, match="Access denied"):
        run(ip, "%kvget APICaller")
    run(ip, "%config KvMagics.persona = 'member'")
    run(ip, "%kvget APICaller")
    assert ip.user_ns["api_caller"].identity.startswith("member@")


def test_config_lists_the_settings(ip, capsys):
    run(ip, "%config KvMagics")
    out = capsys.readouterr().out
    for name in SETTINGS:
        assert f"KvMagics.{name}" in out


def test_redaction_setting_switches_the_registry(ip, monkeypatch):
    from kvnb import redaction

    assert redaction.registry.enabled
    run(ip, "%config KvMagics.redaction = False")
    assert not redaction.registry.enabled
    run(ip, "%config KvMagics.redaction = True")
    assert redaction.registry.enabled


def test_redaction_off_from_the_environment_at_load(vault_env, monkeypatch):
    from kvnb import redaction

    monkeypatch.setenv("KVNB_REDACTION", "off")
    interactive = ipython_shell()
    interactive.run_line_magic("load_ext", "kvnb")
    try:
        assert not redaction.registry.enabled
    finally:
        interactive.run_line_magic("unload_ext", "kvnb")
        redaction.registry.enabled = True


def test_a_bad_config_value_is_refused_and_the_old_one_kept(ip, caplog):
    run(ip, "%config KvMagics.peek_policy = 8")
    run(ip, "%config KvMagics.peek_policy = 'sometimes'")
    magics = next(c for c in ip.configurables if isinstance(c, KvMagics))
    assert magics.peek_policy == 8
    assert "peek_policy" in caplog.text


def test_redact_min_run_sets_the_registry_k(ip, monkeypatch):
    from kvnb import redaction

    monkeypatch.delenv("KVNB_REDACT_MIN_RUN", raising=False)
    run(ip, "%config KvMagics.redact_min_run = 24")
    try:
        assert redaction.registry.min_run == 24
    finally:
        run(ip, "%config KvMagics.redact_min_run = None")
    assert redaction.registry.min_run == 16
