"""The official sync SecretClient runs every secrets operation against the local vault, unmodified.

The only client-side change is `verify_challenge_resource=False` (any loopback vault needs it).
Values are random per run and never printed.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.secrets import KeyVaultSecretIdentifier

from kvnb.local.seed.scenario import FIRST_VAULT
from kvnb.local.state.directory import Directory
from secretreads import comparable
from valuecheck import assert_not_leaked, assert_same_value, new_value

DAY = 86400
VERSION = re.compile(r"[0-9a-f]{32}")


def set_vault(store, **columns) -> None:
    assignments = ", ".join(f"{name} = ?" for name in columns)
    with store.transaction() as db:
        db.execute(f"UPDATE vaults SET {assignments} WHERE position = 0", tuple(columns.values()))


def test_set_then_get_latest_and_by_version(empty_vault):
    client = empty_vault.secret_client()
    first_value, second_value = new_value(), new_value()
    nbf = datetime(2030, 1, 1, tzinfo=timezone.utc)
    first = client.set_secret(
        "DbPassword", first_value, content_type="text/plain", tags={"team": "data"}, not_before=nbf
    )
    second = client.set_secret("DbPassword", second_value)

    assert_same_value(first.value, first_value)
    assert_same_value(second.value, second_value)
    for secret in (first, second):
        assert secret.id == f"{empty_vault.url}/secrets/DbPassword/{secret.properties.version}"
        assert VERSION.fullmatch(secret.properties.version)
        assert KeyVaultSecretIdentifier(secret.id).vault_url == client.vault_url
        assert secret.properties.recovery_level == "Recoverable+Purgeable"
        assert secret.properties.recoverable_days == 90
        assert secret.properties.previous_version is None and secret.properties.key_id is None
    assert first.properties.version != second.properties.version

    latest = client.get_secret("DbPassword")
    assert_same_value(latest.value, second_value)
    assert comparable(latest.properties) == comparable(second.properties)
    older = client.get_secret("DbPassword", first.properties.version)
    assert_same_value(older.value, first_value)
    assert comparable(older.properties) == comparable(first.properties)
    assert older.properties.not_before == nbf  # informational only: the read still works
    assert older.properties.tags == {"team": "data"} and older.properties.content_type == "text/plain"


def test_list_pages_properties_equal_what_set_returned(empty_vault):
    client = empty_vault.secret_client()
    created = {
        name: client.set_secret(name, new_value(), tags={"n": name}) for name in (f"paged-{i}" for i in range(7))
    }
    pages = [list(page) for page in client.list_properties_of_secrets(max_page_size=3).by_page()]
    assert [len(page) for page in pages] == [3, 3, 1]
    listed = [properties for page in pages for properties in page]
    assert sorted(p.name for p in listed) == sorted(created)
    for properties in listed:
        expected = created[properties.name].properties
        assert properties.id == f"{empty_vault.url}/secrets/{properties.name}"
        assert comparable(properties)[4:] == comparable(expected)[4:]


def test_list_versions_pages_and_unknown_name_is_empty(empty_vault):
    client = empty_vault.secret_client()
    versions = [client.set_secret("rotating", new_value()).properties.version for _ in range(5)]
    listed = list(client.list_properties_of_secret_versions("rotating", max_page_size=2))
    assert sorted(p.version for p in listed) == sorted(versions)
    assert all(p.id == f"{empty_vault.url}/secrets/rotating/{p.version}" for p in listed)
    assert list(client.list_properties_of_secret_versions("never-created")) == []


def test_update_properties_changes_updated_and_keeps_id(empty_vault):
    client = empty_vault.secret_client()
    secret = client.set_secret("api-key", new_value(), tags={"a": "1"})
    empty_vault.admin("clock", {"advance_seconds": 60})
    expires = datetime(2031, 6, 1, tzinfo=timezone.utc)
    updated = client.update_secret_properties("api-key", content_type="token", expires_on=expires, tags={"b": "2"})
    assert updated.id == secret.id
    assert updated.updated_on > secret.properties.updated_on
    assert updated.created_on == secret.properties.created_on
    assert (updated.content_type, updated.expires_on, updated.tags) == ("token", expires, {"b": "2"})
    assert comparable(client.get_secret("api-key").properties) == comparable(updated)

    by_version = client.update_secret_properties("api-key", secret.properties.version, enabled=False)
    assert by_version.enabled is False
    with pytest.raises(HttpResponseError) as info:
        client.get_secret("api-key")
    assert info.value.status_code == 403
    assert info.value.error.code == "Forbidden"
    assert info.value.error.message == "Operation get is not allowed on a disabled secret."
    assert info.value.error.innererror == {"code": "SecretDisabled"}
    assert client.update_secret_properties("api-key", enabled=True).enabled is True
    assert client.get_secret("api-key").properties.enabled is True


def test_delete_get_deleted_list_deleted_recover_restores_everything(empty_vault):
    client = empty_vault.secret_client()
    secret = client.set_secret("to-delete", new_value(), tags={"keep": "me"}, content_type="pwd")
    empty_vault.admin("clock", {"advance_seconds": 30})
    client.update_secret_properties("to-delete", tags={"keep": "me", "x": "y"})
    before = client.get_secret("to-delete")

    deleted = client.begin_delete_secret("to-delete").result()
    assert deleted.recovery_id == f"{empty_vault.url}/deletedsecrets/to-delete"
    assert deleted.scheduled_purge_date.timestamp() - deleted.deleted_date.timestamp() == 90 * DAY
    assert comparable(deleted.properties) == comparable(before.properties)
    with pytest.raises(ResourceNotFoundError):
        client.get_secret("to-delete")

    fetched = client.get_deleted_secret("to-delete")
    assert (fetched.recovery_id, fetched.deleted_date, fetched.scheduled_purge_date) == (
        deleted.recovery_id,
        deleted.deleted_date,
        deleted.scheduled_purge_date,
    )
    (listed,) = [d for d in client.list_deleted_secrets() if d.name == "to-delete"]
    assert listed.recovery_id and listed.deleted_date and listed.scheduled_purge_date
    assert listed.properties.id == f"{empty_vault.url}/secrets/to-delete"

    with pytest.raises(ResourceExistsError) as conflict:
        client.set_secret("to-delete", new_value())
    assert "currently in a deleted but recoverable state" in conflict.value.message
    assert "ObjectIsDeletedButRecoverable" in str(conflict.value)

    recovered = client.begin_recover_deleted_secret("to-delete").result()
    assert comparable(recovered) == comparable(before.properties)
    again = client.get_secret("to-delete")
    assert_same_value(again.value, before.value)
    assert comparable(again.properties) == comparable(before.properties)
    assert secret.properties.version == again.properties.version


def test_delete_wait_and_recover_wait_do_not_poll(empty_vault):
    client = empty_vault.secret_client()
    client.set_secret("quick", new_value())
    start = datetime.now()
    client.begin_delete_secret("quick").wait()
    client.begin_recover_deleted_secret("quick").wait()
    assert (datetime.now() - start).total_seconds() < 1.5  # the pollers' first GET already succeeds
    assert client.get_secret("quick").name == "quick"


def test_purge_then_deleted_secret_is_gone(empty_vault):
    client = empty_vault.secret_client()
    client.set_secret("purge-me", new_value())
    client.begin_delete_secret("purge-me").wait()
    assert client.purge_deleted_secret("purge-me") is None
    with pytest.raises(ResourceNotFoundError) as info:
        client.get_deleted_secret("purge-me")
    assert (info.value.error.code, info.value.error.message) == ("SecretNotFound", "Deleted Secret not found: purge-me")
    assert "purge-me" not in [d.name for d in client.list_deleted_secrets()]
    client.set_secret("purge-me", new_value())  # the name is free again


def test_purge_protection_refuses_purge_with_the_services_message(empty_vault):
    client = empty_vault.secret_client()
    client.set_secret("protected", new_value())
    with empty_vault.store.transaction() as db:  # as `az keyvault update --enable-purge-protection`
        db.execute("UPDATE vaults SET purge_protection = 1 WHERE name = ?", (FIRST_VAULT,))
        location = db.execute("SELECT location FROM vaults WHERE name = ?", (FIRST_VAULT,)).fetchone()[0]
    deleted = client.begin_delete_secret("protected").result()
    assert deleted.properties.recovery_level == "Recoverable"  # no longer +Purgeable
    with pytest.raises(HttpResponseError) as info:
        client.purge_deleted_secret("protected")
    assert info.value.status_code == 403 and info.value.error.code == "Forbidden"
    assert info.value.error.message == (
        'Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault '
        "service will automatically purge it after the retention period has passed.\r\n"
        f"Vault: {FIRST_VAULT};location={location}"
    )
    assert client.get_deleted_secret("protected").name == "protected"  # still there, recoverable


def test_backup_purge_restore_preserves_versions_and_times(empty_vault):
    client = empty_vault.secret_client()
    values = [new_value() for _ in range(3)]
    versions = [client.set_secret("backed-up", v, tags={"i": str(i)}).properties.version for i, v in enumerate(values)]
    empty_vault.admin("clock", {"advance_seconds": 120})
    before = client.get_secret("backed-up")
    blob = client.backup_secret("backed-up")
    assert isinstance(blob, bytes) and blob.startswith(b")AzureKeyVaultSecretBackupV1.microsoft.com")
    for value in values:
        assert_not_leaked(value, blob)

    with pytest.raises(ResourceExistsError):
        client.restore_secret_backup(blob)  # a restore never overwrites
    client.begin_delete_secret("backed-up").wait()
    client.purge_deleted_secret("backed-up")
    restored = client.restore_secret_backup(blob)
    assert comparable(restored) == comparable(before.properties)
    assert sorted(p.version for p in client.list_properties_of_secret_versions("backed-up")) == sorted(versions)
    for version, value in zip(versions, values):
        assert_same_value(client.get_secret("backed-up", version).value, value)


def test_names_are_case_insensitive_and_keep_first_casing(empty_vault):
    client = empty_vault.secret_client()
    client.set_secret("MixedCase", new_value())
    newer = client.set_secret("MIXEDCASE", new_value())
    assert newer.id.startswith(f"{empty_vault.url}/secrets/MixedCase/")
    assert_same_value(client.get_secret("mixedcase").value, newer.value)
    assert [p.name for p in client.list_properties_of_secrets()] == ["MixedCase"]


def test_every_api_version_the_clients_send_works(empty_vault):
    # The SDK's ApiVersion enum, the previews its validation knows, and 7.4 (the Azure CLI's).
    versions = [
        "2016-10-01",
        "7.0",
        "7.1",
        "7.2",
        "7.3",
        "7.4",
        "7.5",
        "7.6-preview.2",
        "7.6",
        "2025-06-01-preview",
        "2025-07-01",
        "2026-01-01-preview",
        "2026-03-01-preview",
        "2026-04-01",
    ]
    for api_version in versions:
        client = empty_vault.secret_client(api_version=api_version)
        value = new_value()
        client.set_secret("versioned", value)
        assert_same_value(client.get_secret("versioned").value, value)
        assert [p.name for p in client.list_properties_of_secrets()] == ["versioned"], api_version


def test_caller_without_role_gets_forbidden_by_rbac(empty_vault):
    outsider = Directory(empty_vault.store).create_user("kv-outsider", "Outsider")
    empty_vault.secret_client().set_secret("guarded", new_value())
    client = empty_vault.secret_client("kv-outsider")
    with pytest.raises(HttpResponseError) as info:
        client.get_secret("guarded")
    assert info.value.status_code == 403
    assert info.value.error.code == "Forbidden" and info.value.error.innererror == {"code": "ForbiddenByRbac"}
    lines = info.value.error.message.split("\r\n")
    assert lines[2] == (
        f"Caller: appid=04b07795-8ddb-461a-bbee-02f9e1bf7b46;oid={outsider.id};"
        f"iss=https://sts.windows.net/{empty_vault.store.tenant_id}/"
    )
    assert lines[3] == "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'"
    assert lines[4].endswith("/providers/microsoft.keyvault/vaults/azdevopskv01/secrets/guarded'")
    assert lines[-2] == "Vault: azDevOpsKV01;location=westeurope"
    with pytest.raises(HttpResponseError) as listing:
        list(client.list_properties_of_secrets())
    assert "readMetadata/action" in listing.value.error.message
    assert listing.value.error.message.split("\r\n")[4].endswith("/vaults/azdevopskv01'")


def test_deleted_secrets_are_purged_when_their_date_passes(empty_vault):
    client = empty_vault.secret_client()
    client.set_secret("short-lived", new_value())
    client.begin_delete_secret("short-lived").wait()
    empty_vault.admin("clock", {"advance_seconds": 90 * DAY - 10})
    assert client.get_deleted_secret("short-lived").name == "short-lived"
    empty_vault.admin("clock", {"advance_seconds": 10})
    with pytest.raises(ResourceNotFoundError):
        client.get_deleted_secret("short-lived")
    client.set_secret("short-lived", new_value())


def test_recovery_level_follows_the_vault_settings(empty_vault):
    client = empty_vault.secret_client()
    set_vault(empty_vault.store, soft_delete_days=7)
    secret = client.set_secret("customized", new_value())
    assert (secret.properties.recovery_level, secret.properties.recoverable_days) == (
        "CustomizedRecoverable+Purgeable",
        7,
    )
    deleted = client.begin_delete_secret("customized").result()
    assert deleted.scheduled_purge_date.timestamp() - deleted.deleted_date.timestamp() == 7 * DAY

    set_vault(empty_vault.store, soft_delete_days=90, purge_protection=1)
    protected = client.set_secret("protected", new_value())
    assert protected.properties.recovery_level == "Recoverable"
    client.begin_delete_secret("protected").wait()
    with pytest.raises(HttpResponseError) as info:
        client.purge_deleted_secret("protected")
    assert info.value.status_code == 403
    assert client.get_deleted_secret("protected").name == "protected"


def test_vault_without_soft_delete_deletes_for_good(empty_vault):
    client = empty_vault.secret_client()
    set_vault(empty_vault.store, enable_soft_delete=0)
    secret = client.set_secret("ephemeral", new_value())
    assert (secret.properties.recovery_level, secret.properties.recoverable_days) == ("Purgeable", 0)
    poller = client.begin_delete_secret("ephemeral")
    assert poller.done()  # no recoveryId: the SDK does not poll
    assert poller.result().recovery_id is None
    with pytest.raises(ResourceNotFoundError):
        client.get_deleted_secret("ephemeral")
    client.set_secret("ephemeral", new_value())
