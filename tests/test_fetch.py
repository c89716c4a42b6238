"""kvnb.fetch without IPython: Secrets out, kvnb errors for every failure people can fix."""

from __future__ import annotations

import base64
import json
import socket
import time

import pytest

from kvnb import errors, fetch, ledger
from kvnb.permissions import GET_SECRET
from kvnb.secret import Secret
from valuecheck import assert_not_leaked, assert_same_value


@pytest.fixture
def vault(local_vault, monkeypatch):
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    monkeypatch.setenv("KVNB_VAULT", "local")
    monkeypatch.delenv("KVNB_PERSONA", raising=False)
    ledger.ledger.clear()
    yield local_vault
    fetch.close_targets()
    fetch.clear_cache()


def test_fetch_secret_returns_a_masked_secret_with_its_properties(vault):
    secret = fetch.fetch_secret("APICaller", persona="member")
    expected = vault.secret_client("lead").get_secret("APICaller")
    assert isinstance(secret, Secret)
    assert_same_value(secret, expected.value)
    assert_not_leaked(expected.value, repr(secret))
    assert secret.version == expected.properties.version
    assert secret.updated == expected.properties.updated_on
    assert secret.tags == {"app": "partner-api", "owner": "devops"}
    assert secret.vault_url == vault.url


def test_several_secrets_come_back_in_order_and_concurrently(vault):
    names = ["APICaller", "WebhookSigningKey", "DbConnectionString", "StorageAccountKey", "ServicePrincipalSecret"]
    fetch.fetch_secrets(["APICaller"], persona="member")  # sign in and connect first
    vault.admin("faults", {"latency_ms": 300})
    began = time.monotonic()
    secrets = fetch.fetch_secrets(names, persona="member")
    elapsed = time.monotonic() - began
    assert [s.name for s in secrets] == names
    assert elapsed < 0.3 * len(names) * 0.6  # one after the other would take 1.5 s


def test_the_same_vault_and_persona_reuse_one_client(vault):
    first = fetch.open_target("local", persona="member")
    assert fetch.open_target("local", persona="member") is first
    assert fetch.open_target("local", persona="lead") is not first


def test_forbidden_names_the_missing_role_and_action(vault):
    with pytest.raises(errors.AccessDeniedError) as refused:
        fetch.fetch_secret("APICaller", persona="newmember")
    assert refused.value.missing_role == "Key Vault Secrets User"
    assert refused.value.action == GET_SECRET
    assert refused.value.secret_name == "APICaller"
    # fetch, which has the context, looks up the access package that grants the role (errors.py does not)
    assert refused.value.access_package.startswith("azDevOpsKV01_secAccess")
    assert f"Request the access package {refused.value.access_package}" in str(refused.value)


def test_not_found_suggests_only_names_the_caller_may_list(vault):
    with pytest.raises(errors.SecretNotFoundError) as missing:
        fetch.fetch_secret("WebhookSigningKee", persona="member")
    assert missing.value.close_matches == ("WebhookSigningKey",)


def test_missing_version(vault):
    with pytest.raises(errors.SecretNotFoundError, match="has no version"):
        fetch.fetch_secret("APICaller", version="0" * 32, persona="member")


def test_disabled_secret(vault):
    with pytest.raises(errors.SecretDisabledError):
        fetch.fetch_secret("LegacyFtpPassword", persona="member")


def test_expired_secret_warns(vault):
    with pytest.warns(errors.ExpiredSecretWarning, match="PartnerSftpPassword expired"):
        secret = fetch.fetch_secret("PartnerSftpPassword", persona="member")
    assert secret.reveal()


def test_throttled_after_the_sdks_retries(vault):
    from azure.keyvault.secrets import SecretClient

    target = fetch.open_target("local", persona="member")
    client = SecretClient(
        target.url,
        target.credential,
        verify_challenge_resource=False,
        connection_verify=vault.ca,
        retry_total=2,
        retry_backoff_factor=0.01,
    )
    vault.admin("faults", {"throttle": True})
    vault.service.faults.limit_all = 0
    try:
        with pytest.raises(errors.ThrottledError, match="429"):
            fetch.fetch_secret("APICaller", target=target, client=client)
    finally:
        client.close()
    assert ledger.ledger.events()[-1].result == "Throttled"


def test_network_unreachable(vault):
    from azure.keyvault.secrets import SecretClient

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = fetch.open_target("local", persona="member")
    client = SecretClient(
        f"https://127.0.0.1:{port}",
        target.credential,
        verify_challenge_resource=False,
        connection_verify=vault.ca,
        retry_total=0,
    )
    try:
        with pytest.raises(errors.VaultUnreachableError, match="Cannot reach"):
            fetch.fetch_secret("APICaller", target=target, client=client)
    finally:
        client.close()


def test_a_kept_local_vault_is_found_again_after_a_restart_on_another_port(vault):
    from kvnb.local.server.process import LocalVaultServer

    before = fetch.fetch_secret("APICaller", persona="member")
    old_url = vault.url
    vault.close_clients()
    vault.server.stop()
    vault.server = LocalVaultServer(vault.paths, port=0).start_in_thread()  # the fixture stops this one
    assert vault.url != old_url
    after = fetch.fetch_secret("APICaller", persona="member")
    assert after.vault_url == vault.url and after.fingerprint != before.fingerprint  # per-vault key
    assert_same_value(after, before.reveal())


def test_a_disabled_account_is_not_signed_in(vault):
    with pytest.raises(errors.NotSignedInError, match="kvnb local login"):
        fetch.fetch_secret("APICaller", persona="leaver")


@pytest.mark.parametrize("name", ["", "a_b", "x" * 128, "name/1", "ä"])
def test_malformed_secret_names_never_reach_the_vault(vault, name):
    with pytest.raises(errors.InvalidSecretNameError):
        fetch.fetch_secret(name, persona="member")
    assert len(ledger.ledger) == 0


@pytest.mark.parametrize("reference", ["x", "https://", "http://127.0.0.1:1", "local:nowhere"])
def test_malformed_vault_references(vault, reference):
    with pytest.raises(errors.VaultReferenceError):
        fetch.fetch_secret("APICaller", vault=reference, persona="member")


def test_several_failures_are_raised_together(vault):
    with pytest.raises(errors.FetchErrors) as failed:
        fetch.fetch_secrets(["NoSuchOne", "LegacyFtpPassword", "APICaller"], persona="member")
    kinds = sorted(type(e).__name__ for e in failed.value.errors)
    assert kinds == ["SecretDisabledError", "SecretNotFoundError"]


def test_value_ttl_drops_the_value_and_fetches_it_again(vault):
    secret = fetch.fetch_secret("APICaller", persona="member", value_ttl=0.05)
    first = secret.reveal()
    time.sleep(0.1)
    assert_same_value(secret.reveal(), first)
    assert [e.result for e in ledger.ledger.events()] == ["OK", "OK"]


def test_list_secret_names(vault):
    names = fetch.list_secret_names(persona="newmember")  # Key Vault Reader may list
    assert "APICaller" in names and "LegacyFtpPassword" in names
    with pytest.raises(errors.AccessDeniedError, match="list"):
        fetch.list_secret_names(persona="aad-team")


def test_caller_from_a_bearer_token():
    claims = {"oid": "1111", "upn": "member@contoso.com", "tid": "2222"}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    caller = fetch.caller_from_authorization(f"Bearer e30.{payload}.sig")
    assert caller == fetch.Caller(object_id="1111", name="member@contoso.com", tenant_id="2222")
    assert fetch.caller_from_authorization("Bearer not-a-jwt") is None


def test_the_ledger_records_each_call_without_the_value(vault):
    secret = fetch.fetch_secret("APICaller", persona="member")
    with pytest.raises(errors.AccessDeniedError):
        fetch.fetch_secret("APICaller", persona="newmember")
    ok, refused = ledger.ledger.events()
    assert (ok.result, ok.fingerprint, ok.version) == ("OK", secret.fingerprint, secret.version)
    assert ok.identity == "member@kvnblocal.onmicrosoft.com" and ok.object_id
    assert (refused.result, refused.fingerprint) == ("ForbiddenByRbac", None)
    assert_not_leaked(secret.reveal(), ledger.ledger.to_csv() + ledger.ledger.to_json())
    frame = ledger.fetch_ledger()
    assert list(frame.columns) == list(ledger.COLUMNS) and len(frame) == 2
