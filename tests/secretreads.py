"""A secret as the lead reads it with the plain SDK, to check what a rotation left in the vault
(kept in the test, never printed)."""

from __future__ import annotations


def versions(vault, name: str = "APICaller") -> list:
    return list(vault.secret_client("lead").list_properties_of_secret_versions(name))


def current(vault, name: str = "APICaller"):
    return vault.secret_client("lead").get_secret(name)


def comparable(properties) -> tuple:
    """Every property the SDK exposes, for equality between set, get, list and recover."""
    return (
        properties.id,
        properties.name,
        properties.version,
        properties.vault_url,
        properties.content_type,
        properties.enabled,
        properties.not_before,
        properties.expires_on,
        properties.created_on,
        properties.updated_on,
        properties.recovery_level,
        properties.recoverable_days,
        properties.tags,
        properties.key_id,
        properties.managed,
        properties.previous_version,
    )
