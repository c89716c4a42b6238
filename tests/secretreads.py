"""A secret as the lead reads it with the plain SDK, to check what a rotation left in the vault
(kept in the test, never printed)."""

from __future__ import annotations


def versions(vault, name: str = "APICaller") -> list:
    return list(vault.secret_client("lead").list_properties_of_secret_versions(name))


def current(vault, name: str = "APICaller"):
    return vault.secret_client("lead").get_secret(name)
