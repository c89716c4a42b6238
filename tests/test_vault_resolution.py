"""Vault references resolve to the right endpoints; on Azure a vault's resource id is found via ARM."""

from __future__ import annotations

import asyncio

import pytest

from kvnb import errors, fetch
from kvnb.vault import VaultNameError, VaultTarget, azure_vault_url, find_vault_resource_id, open_vault


def test_bare_name_becomes_the_azure_url():
    assert azure_vault_url("azDevOpsKV01") == "https://azdevopskv01.vault.azure.net/"


@pytest.mark.parametrize("bad", ["ab", "1vault", "has_underscore", "a" * 25, "double--dash"])
def test_bad_vault_names_say_what_a_name_looks_like(bad):
    with pytest.raises(VaultNameError, match="3-24 letters"):
        azure_vault_url(bad)


def test_no_vault_given_names_every_way_to_give_one(monkeypatch):
    monkeypatch.delenv("KVNB_VAULT", raising=False)
    with pytest.raises(VaultNameError, match="KVNB_VAULT"):
        open_vault(None)


def test_http_url_is_refused():
    with pytest.raises(VaultNameError, match="https"):
        open_vault("http://azdevopskv01.vault.azure.net/")


def test_persona_is_only_for_the_local_vault():
    with pytest.raises(VaultNameError, match="only with the local vault"):
        open_vault("azDevOpsKV01", persona="member")


def _chain(credential) -> list[str]:
    """The kinds of credential a DefaultAzureCredential tries, without the async/sync differences."""
    names = {type(c).__name__.replace("Async", "") for c in credential.credentials}
    return sorted(names - {"BrokerCredential"})  # the broker has no async twin in azure-identity


def test_async_credential_gets_the_configured_credential_options(monkeypatch):
    """%kvpanel's async clients sign in with the same options as %kvget's sync ones (issue 17)."""
    monkeypatch.delenv("KVNB_VAULT", raising=False)
    options = {"exclude_cli_credential": True, "exclude_powershell_credential": True}
    target = fetch.open_target("azDevOpsKV01", credential_options=options)
    credential = target.new_async_credential()
    try:
        assert "AzureCliCredential" not in _chain(credential)
        assert "AzurePowerShellCredential" not in _chain(credential)
        assert _chain(credential) == _chain(target.credential)
        plain = open_vault("azDevOpsKV01")
        assert "AzureCliCredential" in _chain(plain.new_async_credential())
    finally:
        asyncio.run(credential.close())
        fetch.close_targets()


def test_a_credential_option_azure_does_not_take_is_a_setting_error():
    with pytest.raises(errors.SettingError, match="tenant_id"):
        open_vault("azDevOpsKV01", credential_options={"tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47"})


def test_open_vault_raises_kvnb_errors_only(local_vault, monkeypatch, tmp_path):
    monkeypatch.setenv("KVNB_HOME", str(tmp_path / "never-started"))
    with pytest.raises(errors.LocalVaultNotRunningError, match="kvnb local start"):
        open_vault("local", start_local=False)
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    with pytest.raises(errors.VaultReferenceError, match="--persona NAME"):
        open_vault("local", persona="nobody-of-that-name", start_local=False)
    with pytest.raises(errors.KvnbError):
        open_vault("https://")


def test_local_and_loopback_url_resolve_to_the_same_vault(local_vault, monkeypatch):
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    by_name = open_vault("local", persona="member", start_local=False)
    by_url = open_vault(local_vault.url, persona="member", start_local=False)
    try:
        assert by_name.url == by_url.url == local_vault.url
        assert by_name.is_local and by_name.persona == "member"
        assert by_name.resource_id.endswith("/providers/Microsoft.KeyVault/vaults/azDevOpsKV01")
        assert by_name.secret_client.get_secret("APICaller").properties.name == "APICaller"
    finally:
        by_name.close()
        by_url.close()


def test_unknown_local_vault_says_how_to_add_one(local_vault, monkeypatch):
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    with pytest.raises(VaultNameError, match="kvnb local add-vault nope"):
        open_vault("local:nope", start_local=False)


def test_resource_id_is_found_through_arm_as_on_azure(local_vault):
    """The lookup an Azure vault gets (subscriptions, then resources by name), run on the local ARM."""
    target = VaultTarget(
        name="azDevOpsKV01",
        url=local_vault.url,
        is_local=False,
        credential=local_vault.credential("newmember"),
        arm_url=local_vault.url,
        connection_verify=local_vault.ca,
    )
    expected = local_vault.service.resource_id("azDevOpsKV01")
    assert find_vault_resource_id(target) == expected
    assert target.subscription_id == local_vault.store.subscription_id  # lazily resolved


def test_resource_id_lookup_gives_none_to_someone_without_access(local_vault):
    target = VaultTarget(
        name="azDevOpsKV01",
        url=local_vault.url,
        is_local=False,
        credential=local_vault.credential("aad-team"),
        arm_url=local_vault.url,
        connection_verify=local_vault.ca,
    )
    assert find_vault_resource_id(target) is None


def test_a_vault_not_found_through_arm_is_looked_up_once(local_vault, monkeypatch):
    import kvnb.vault as vault_module

    calls = []
    monkeypatch.setattr(vault_module, "find_vault_resource_id", lambda target: calls.append(target) or None)
    target = VaultTarget(
        name="elsewhere",
        url=local_vault.url,
        is_local=False,
        credential=local_vault.credential("lead"),
        arm_url=local_vault.url,
    )
    assert target.resource_id is None and target.subscription_id is None
    assert len(calls) == 1
