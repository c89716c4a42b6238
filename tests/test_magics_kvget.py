"""%kvget in a real IPython shell against the local vault, persona by persona.

The shell is IPython's test shell; ``run`` re-raises a cell's error (as jupysql's TestingShell
does), so a refused fetch surfaces as the ``UsageError`` a notebook user would see.
"""

from __future__ import annotations

import os
import secrets
import ssl

import httpx
import pytest
from IPython.core.error import UsageError

from ipshell import run
from kvnb import fetch, ledger
from kvnb.magics.kvget import parse_cell, variable_name
from valuecheck import assert_different_value, assert_not_leaked, assert_same_value, assert_value_in


def current_value(vault, name: str = "APICaller") -> str:
    """The value as the lead reads it with the plain SDK (kept in the test, never printed)."""
    return vault.secret_client("lead").get_secret(name).value


def ping(secret) -> int:
    """The demo API's answer when called with the secret's value as X-API-Key."""
    context = ssl.create_default_context(cafile=os.path.join(os.environ["KVNB_HOME"], "ca.pem"))
    with httpx.Client(verify=context) as client:
        response = client.get(f"{secret.vault_url}/demo-api/ping", headers={"X-API-Key": secret.reveal()})
    return response.status_code


# -- the seed personas --------------------------------------------------------------------------------
def test_member_gets_a_masked_variable_that_works(ip, vault_env, capsys):
    run(ip, "%kvget APICaller --persona member")
    secret = ip.user_ns["api_caller"]
    value = current_value(vault_env)
    out = capsys.readouterr().out
    assert type(secret).__name__ == "Secret"
    assert "APICaller → api_caller" in out and secret.fingerprint in out
    assert_not_leaked(value, out)
    assert_not_leaked(value, repr(secret))
    assert_not_leaked(value, f"{secret}")
    assert_same_value(secret.reveal(), value)
    assert ping(secret) == 200
    assert secret.identity == "member@kvnblocal.onmicrosoft.com"


def test_newmember_is_refused_with_the_access_package_named(ip):
    with pytest.raises(UsageError) as refused:
        run(ip, "%kvget APICaller --persona newmember")
    message = str(refused.value)
    assert "Key Vault Secrets User" in message
    assert "azDevOpsKV01_secAccess" in message
    assert "api_caller" not in ip.user_ns


def test_aad_team_is_refused_and_cannot_list(ip):
    with pytest.raises(UsageError, match="Access denied"):
        run(ip, "%kvget APICaller --persona aad-team")
    from kvnb.errors import AccessDeniedError

    with pytest.raises(AccessDeniedError) as refused:
        fetch.list_secret_names(vault="local", persona="aad-team")
    assert refused.value.action.endswith("readMetadata/action")
    assert refused.value.missing_role == "Key Vault Reader"


def test_the_default_persona_comes_from_kvnb_local_login(ip, vault_env):
    vault_env.paths.login.write_text("member\n")
    run(ip, "%kvget APICaller")
    assert ip.user_ns["api_caller"].identity.startswith("member@")


# -- arguments ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "secret_name, variable",
    [
        ("APICaller", "api_caller"),
        ("WebhookSigningKey", "webhook_signing_key"),
        ("DbConnectionString", "db_connection_string"),
        ("my-secret", "my_secret"),
        ("2fa-Key", "secret_2fa_key"),
        ("HTTPServerKEY", "http_server_key"),
        ("class", "class_"),
        ("a--b", "a_b"),
    ],
)
def test_default_variable_names_are_snake_case(secret_name, variable):
    assert variable_name(secret_name) == variable
    assert variable.isidentifier()


def test_as_names_the_variable(ip):
    run(ip, "%kvget APICaller --as key --persona member")
    assert ip.user_ns["key"].name == "APICaller"
    assert "api_caller" not in ip.user_ns


def test_variables_are_expanded_as_ipython_does(ip):
    run(ip, "wanted = 'APICaller'\n%kvget $wanted --as from_dollar --persona member")
    run(ip, "%kvget {wanted.upper().lower().replace('apicaller', 'APICaller')} --as from_braces --persona member")
    run(
        ip,
        "def fetch_in_function():\n    local_name = 'WebhookSigningKey'\n"
        "    %kvget $local_name --as from_local --persona member\nfetch_in_function()",
    )
    assert ip.user_ns["from_dollar"].name == "APICaller"
    assert ip.user_ns["from_braces"].name == "APICaller"
    assert ip.user_ns["from_local"].name == "WebhookSigningKey"


def test_a_line_that_does_not_expand_is_used_as_written(ip):
    with pytest.raises(UsageError, match="not a secret name"):
        run(ip, "%kvget {no_such_variable} --persona member")


@pytest.mark.parametrize("option", ["--as x", "--version 0123abcd", "--env X_KEY", "--peek 4"])
def test_single_name_options_refuse_several_names(ip, option):
    with pytest.raises(UsageError, match="exactly one secret name"):
        run(ip, f"%kvget APICaller WebhookSigningKey {option}")


def test_version_fetches_an_older_version(ip, vault_env):
    client = vault_env.secret_client("lead")
    versions = sorted(client.list_properties_of_secret_versions("APICaller"), key=lambda p: p.created_on)
    oldest = versions[0].version
    run(ip, f"%kvget APICaller --version {oldest} --as old --persona member")
    old = ip.user_ns["old"]
    assert old.version == oldest
    assert_same_value(old, client.get_secret("APICaller", oldest).value)
    assert_different_value(old, current_value(vault_env))
    assert ping(old) == 401  # only the current key opens the demo API


def test_env_puts_the_value_in_the_environment_without_showing_it(ip, vault_env, capsys, monkeypatch):
    monkeypatch.delenv("PARTNER_API_KEY", raising=False)
    run(ip, "%kvget APICaller --env PARTNER_API_KEY --persona member")
    value = current_value(vault_env)
    out = capsys.readouterr().out
    assert_same_value(os.environ["PARTNER_API_KEY"], value)
    assert_not_leaked(value, out)
    assert "$PARTNER_API_KEY" in out
    assert "api_caller" not in ip.user_ns


def test_peek_is_refused_by_default_and_allowed_by_the_policy(ip, vault_env, capsys):
    with pytest.raises(UsageError, match="fingerprint"):
        run(ip, "%kvget APICaller --peek 8 --persona member")
    run(ip, "%config KvMagics.peek_policy = 8")
    run(ip, "%kvget APICaller --peek 8 --persona member")
    value = current_value(vault_env)
    out = capsys.readouterr().out
    assert_value_in(f"first 8: {value[:8]}", out)
    assert_not_leaked(value, out)
    with pytest.raises(UsageError, match="at most 8"):
        run(ip, "%kvget APICaller --peek 9 --persona member")


def test_several_names_are_fetched_together(ip, capsys):
    run(ip, "%kvget APICaller WebhookSigningKey DbConnectionString --persona member")
    out = capsys.readouterr().out
    for variable in ("api_caller", "webhook_signing_key", "db_connection_string"):
        assert ip.user_ns[variable].reveal()
        assert f"→ {variable}" in out
    assert len(ledger.ledger) == 3


def test_one_failure_among_several_names_reports_each(ip):
    with pytest.raises(UsageError) as refused:
        run(ip, "%kvget APICaller LegacyFtpPassword NoSuchSecret --persona member")
    message = str(refused.value)
    assert "LegacyFtpPassword is disabled" in message and "No secret NoSuchSecret" in message


def test_cell_form_assigns_each_line(ip):
    run(ip, "%%kvget --persona member\nkey = APICaller\n\n# the webhook's key\nWebhookSigningKey\n")
    assert ip.user_ns["key"].name == "APICaller"
    assert ip.user_ns["webhook_signing_key"].name == "WebhookSigningKey"


@pytest.mark.parametrize("cell, problem", [("key = = APICaller", "line 1"), ("x y", "line 1")])
def test_cell_form_rejects_malformed_lines(cell, problem):
    with pytest.raises(UsageError, match=problem):
        parse_cell(cell)


def test_cell_form_rejects_keywords_as_variables(ip):
    with pytest.raises(UsageError, match="not a Python variable"):
        run(ip, "%%kvget --persona member\nclass = APICaller\n")


def test_no_name_is_a_usage_error(ip):
    with pytest.raises(UsageError, match="Name a secret"):
        run(ip, "%kvget")


# -- errors people can act on -----------------------------------------------------------------------
def test_unknown_secret_suggests_close_names(ip):
    with pytest.raises(UsageError, match=r"No secret ApiCaler in azDevOpsKV01\. Did you mean APICaller\?"):
        run(ip, "%kvget ApiCaler --persona member")


def test_disabled_secret(ip):
    with pytest.raises(UsageError, match="LegacyFtpPassword is disabled"):
        run(ip, "%kvget LegacyFtpPassword --persona member")


def test_expired_secret_is_fetched_with_a_warning(ip, capsys):
    run(ip, "%kvget PartnerSftpPassword --persona member")
    assert ip.user_ns["partner_sftp_password"].reveal()
    assert "PartnerSftpPassword expired on" in capsys.readouterr().err


@pytest.mark.parametrize(
    "line, problem",
    [
        ("%kvget bad_name", "not a secret name"),
        ("%kvget APICaller --vault no", "not a vault name"),
        ("%kvget APICaller --vault local:nowhere", "No local vault 'nowhere'"),
        ("%kvget APICaller --persona nobody", "No local identity 'nobody'"),
        ("%kvget APICaller --version not-hex!", "not a secret version"),
    ],
)
def test_malformed_references_are_usage_errors(ip, line, problem):
    with pytest.raises(UsageError, match=problem):
        run(ip, line)


def test_a_disabled_account_is_told_to_sign_in(ip):
    with pytest.raises(UsageError, match="kvnb local login NAME"):
        run(ip, "%kvget APICaller --persona leaver")


def test_fetch_ledger_records_without_values(ip, vault_env, tmp_path):
    run(ip, "%kvget APICaller --persona member")
    with pytest.raises(UsageError):
        run(ip, "%kvget APICaller --persona newmember")
    frame = ip.run_line_magic("kvget", "--ledger")
    assert list(frame["result"]) == ["OK", "ForbiddenByRbac"]
    assert list(frame["identity"]) == ["member@kvnblocal.onmicrosoft.com", "newmember@kvnblocal.onmicrosoft.com"]
    assert frame["fingerprint"][0] == ip.user_ns["api_caller"].fingerprint
    value = current_value(vault_env)
    ledger.ledger.to_csv(tmp_path / "ledger.csv")
    ledger.ledger.to_json(tmp_path / "ledger.json")
    for path in (tmp_path / "ledger.csv", tmp_path / "ledger.json"):
        text = path.read_text()
        assert_not_leaked(value, text)
        assert "APICaller" in text
    assert_not_leaked(value, frame.to_string())


def test_cache_ttl_reuses_a_recent_fetch(ip, vault_env):
    run(ip, "%config KvMagics.cache_ttl = 60")
    run(ip, "%kvget APICaller --persona member")
    first = ip.user_ns["api_caller"]
    # The vault's value changes; the cached Secret is reused all the same (no call reaches it).
    vault_env.secret_client("lead").set_secret("APICaller", secrets.token_urlsafe(24))
    run(ip, "%kvget APICaller --persona member")
    assert ip.user_ns["api_caller"] is first
    assert [e.cached for e in ledger.ledger.events()] == [False, True]
    run(ip, "%config KvMagics.cache_ttl = 0")
    run(ip, "%kvget APICaller --persona member")
    assert ip.user_ns["api_caller"] is not first
    assert ip.user_ns["api_caller"].fingerprint != first.fingerprint
    fetch.clear_cache()
