"""The official async SecretClient (aiohttp) runs every secrets operation against the local vault.

aiohttp ignores REQUESTS_CA_BUNDLE; azure-core's aiohttp transport turns `connection_verify=<CA path>`
into an SSL context, so the local CA is passed that way. Values are random per run.
"""

from __future__ import annotations

import secrets
from contextlib import asynccontextmanager

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.secrets.aio import SecretClient

from secretreads import comparable
from valuecheck import assert_not_leaked, assert_same_value

DAY = 86400


@asynccontextmanager
async def async_client(vault, persona: str = "lead"):
    async with (
        vault.async_credential(persona) as credential,
        SecretClient(vault.url, credential, verify_challenge_resource=False, connection_verify=vault.ca) as client,
    ):
        yield client


async def test_set_get_list_versions_and_update(empty_vault):
    async with async_client(empty_vault) as client:
        values = [secrets.token_urlsafe(24) for _ in range(3)]
        made = [await client.set_secret("async-secret", v, content_type="text/plain") for v in values]
        for i in range(6):
            await client.set_secret(f"filler-{i}", secrets.token_urlsafe(8))

        latest = await client.get_secret("async-secret")
        assert_same_value(latest.value, values[-1])
        assert latest.id == f"{empty_vault.url}/secrets/async-secret/{made[-1].properties.version}"
        assert comparable(latest.properties) == comparable(made[-1].properties)
        first = await client.get_secret("async-secret", made[0].properties.version)
        assert_same_value(first.value, values[0])

        pages = []
        async for page in client.list_properties_of_secrets(max_page_size=3).by_page():
            pages.append([p async for p in page])
        assert [len(page) for page in pages] == [3, 3, 1]
        (listed,) = [p for page in pages for p in page if p.name == "async-secret"]
        assert listed.id == f"{empty_vault.url}/secrets/async-secret"
        assert comparable(listed)[4:] == comparable(latest.properties)[4:]

        versions = [p async for p in client.list_properties_of_secret_versions("async-secret", max_page_size=2)]
        assert sorted(p.version for p in versions) == sorted(m.properties.version for m in made)
        assert [p async for p in client.list_properties_of_secret_versions("no-such-secret")] == []

        empty_vault.admin("clock", {"advance_seconds": 45})
        updated = await client.update_secret_properties("async-secret", tags={"rotated": "yes"}, enabled=True)
        assert updated.id == latest.id and updated.updated_on > latest.properties.updated_on
        assert updated.tags == {"rotated": "yes"}


async def test_delete_recover_purge(empty_vault):
    async with async_client(empty_vault) as client:
        await client.set_secret("async-deleted", secrets.token_urlsafe(24), tags={"t": "1"})
        before = await client.get_secret("async-deleted")

        deleted = await client.delete_secret("async-deleted")
        assert deleted.recovery_id == f"{empty_vault.url}/deletedsecrets/async-deleted"
        assert deleted.scheduled_purge_date.timestamp() - deleted.deleted_date.timestamp() == 90 * DAY
        fetched = await client.get_deleted_secret("async-deleted")
        assert comparable(fetched.properties) == comparable(before.properties)
        listed = [d async for d in client.list_deleted_secrets()]
        assert [d.name for d in listed] == ["async-deleted"] and listed[0].scheduled_purge_date

        with pytest.raises(ResourceExistsError):
            await client.set_secret("async-deleted", secrets.token_urlsafe(8))
        recovered = await client.recover_deleted_secret("async-deleted")
        assert comparable(recovered) == comparable(before.properties)
        assert_same_value((await client.get_secret("async-deleted")).value, before.value)

        await client.delete_secret("async-deleted")
        await client.purge_deleted_secret("async-deleted")
        with pytest.raises(ResourceNotFoundError):
            await client.get_deleted_secret("async-deleted")
        assert [d async for d in client.list_deleted_secrets()] == []


async def test_backup_and_restore(empty_vault):
    async with async_client(empty_vault) as client:
        value = secrets.token_urlsafe(24)
        await client.set_secret("async-backup", value, content_type="pwd")
        before = await client.get_secret("async-backup")
        blob = await client.backup_secret("async-backup")
        assert_not_leaked(value, blob)
        await client.delete_secret("async-backup")
        await client.purge_deleted_secret("async-backup")
        restored = await client.restore_secret_backup(blob)
        assert comparable(restored) == comparable(before.properties)
        assert_same_value((await client.get_secret("async-backup")).value, value)


async def test_errors_arrive_as_the_sdk_expects(empty_vault):
    async with async_client(empty_vault) as client:
        with pytest.raises(ResourceNotFoundError) as missing:
            await client.get_secret("absent")
        assert missing.value.error.code == "SecretNotFound"
        await client.set_secret("switched-off", secrets.token_urlsafe(8), enabled=False)
        with pytest.raises(HttpResponseError) as disabled:
            await client.get_secret("switched-off")
        assert disabled.value.status_code == 403
        assert disabled.value.error.innererror == {"code": "SecretDisabled"}
