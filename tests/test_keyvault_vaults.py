"""Vaults side by side (one port each) keep their secrets, deletions and permissions apart."""

from __future__ import annotations

import secrets
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from kvnb.local.state.directory import Directory
from valuecheck import assert_same_value

SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"


@pytest.fixture
def two_vaults(empty_vault):
    port = empty_vault.admin("vaults", {"name": "other", "port": 0})["port"]
    other_url = f"https://127.0.0.1:{port}"
    assert other_url != empty_vault.url
    return empty_vault, other_url


def test_same_name_in_two_vaults_holds_two_secrets(two_vaults):
    vault, other_url = two_vaults
    first, second = vault.secret_client(), vault.secret_client(vault_url=other_url)
    value_a, value_b = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    set_a = first.set_secret("shared-name", value_a)
    set_b = second.set_secret("shared-name", value_b)
    second.set_secret("only-in-other", secrets.token_urlsafe(8))

    assert set_a.id.startswith(f"{vault.url}/secrets/shared-name/")
    assert set_b.id.startswith(f"{other_url}/secrets/shared-name/")
    assert_same_value(first.get_secret("shared-name").value, value_a)
    assert_same_value(second.get_secret("shared-name").value, value_b)
    assert [p.name for p in first.list_properties_of_secrets()] == ["shared-name"]
    assert sorted(p.name for p in second.list_properties_of_secrets()) == ["only-in-other", "shared-name"]
    assert [p.version for p in first.list_properties_of_secret_versions("shared-name")] == [set_a.properties.version]
    with pytest.raises(ResourceNotFoundError):
        first.get_secret("only-in-other")

    first.begin_delete_secret("shared-name").wait()
    assert_same_value(second.get_secret("shared-name").value, value_b)
    assert first.get_deleted_secret("shared-name").recovery_id == f"{vault.url}/deletedsecrets/shared-name"
    with pytest.raises(ResourceNotFoundError):
        second.get_deleted_secret("shared-name")
    assert [d.name for d in second.list_deleted_secrets()] == []
    first.purge_deleted_secret("shared-name")
    assert_same_value(second.get_secret("shared-name").value, value_b)


def test_backup_restores_into_another_vault_of_the_same_subscription(two_vaults):
    vault, other_url = two_vaults
    first, second = vault.secret_client(), vault.secret_client(vault_url=other_url)
    value = secrets.token_urlsafe(16)
    original = first.set_secret("moving", value, tags={"from": "first"})
    restored = second.restore_secret_backup(first.backup_secret("moving"))
    assert restored.id == f"{other_url}/secrets/moving/{original.properties.version}"
    assert (restored.created_on, restored.updated_on, restored.tags) == (
        original.properties.created_on,
        original.properties.updated_on,
        {"from": "first"},
    )
    assert_same_value(second.get_secret("moving").value, value)


def test_backup_from_another_subscription_does_not_restore(empty_vault, start_local_vault):
    elsewhere = start_local_vault("elsewhere")  # its own state, so its own subscription id
    elsewhere.admin("reset", {"empty": True})
    assert elsewhere.store.subscription_id != empty_vault.store.subscription_id
    client = empty_vault.secret_client()
    client.set_secret("bound", secrets.token_urlsafe(16))
    with pytest.raises(HttpResponseError) as info:
        elsewhere.secret_client().restore_secret_backup(client.backup_secret("bound"))
    assert info.value.status_code == 400
    assert (info.value.error.code, info.value.error.message) == ("BadParameter", "Cannot decrypt backup blob")


def test_a_role_on_one_vault_grants_nothing_on_the_other(two_vaults):
    vault, other_url = two_vaults
    reader = Directory(vault.store).create_user("vault-reader", "Vault Reader")
    scope = vault.service.resource_id("azDevOpsKV01")
    with vault.store.transaction() as db:
        db.execute(
            "INSERT INTO role_assignments (name, scope, role_definition_id, principal_id, principal_type,"
            " created_on, updated_on) VALUES (?, ?, ?, ?, 'User', 0, 0)",
            (str(uuid.uuid4()), scope, SECRETS_USER, reader.id),
        )
    value = secrets.token_urlsafe(16)
    vault.secret_client().set_secret("readable", value)
    vault.secret_client(vault_url=other_url).set_secret("readable", secrets.token_urlsafe(16))

    assert_same_value(vault.secret_client("vault-reader").get_secret("readable").value, value)
    with pytest.raises(HttpResponseError) as info:
        vault.secret_client("vault-reader", vault_url=other_url).get_secret("readable")
    assert info.value.status_code == 403
    assert "/providers/microsoft.keyvault/vaults/other/secrets/readable'" in info.value.error.message
    assert "Vault: other;location=westeurope" in info.value.error.message
