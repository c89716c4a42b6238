"""The seed: the article's vault and team, created on first start and by `kvnb local reset`."""

from __future__ import annotations

import secrets
import uuid

from .store import Store

FIRST_VAULT = "azDevOpsKV01"
RESOURCE_GROUP = "rg-devops"
LOCATION = "westeurope"
ADMIN_ROLE = "00482a5a-887f-4fb3-b363-3b7fe8e74483"  # Key Vault Administrator

# Tables a reset empties; meta keeps the tenant and subscription so object ids stay stable.
_STATE_TABLES = ("secret_versions", "secrets", "role_assignments", "memberships", "principals")


def object_id(tenant_id: str, handle: str) -> str:
    return str(uuid.uuid5(uuid.UUID(tenant_id), handle))


def is_seeded(store: Store) -> bool:
    return store.db.execute("SELECT 1 FROM vaults WHERE position = 0").fetchone() is not None


def reset(store: Store, *, empty: bool = False, first_port: int | None = None) -> None:
    """Back to the seed, or (``empty``) to an empty first vault where `lead` is administrator."""
    with store.transaction() as db:
        port_row = db.execute("SELECT port FROM vaults WHERE position = 0").fetchone()
        port = first_port if first_port is not None else (port_row[0] if port_row else 8443)
        for table in _STATE_TABLES:
            db.execute(f"DELETE FROM {table}")
        db.execute("DELETE FROM vaults WHERE position > 0")
        db.execute("DELETE FROM meta WHERE key = 'clock_offset'")
        now = store.now()
        db.execute(
            "INSERT INTO vaults (name, position, port, resource_group, location, created) "
            "VALUES (?, 0, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET port = excluded.port",
            (FIRST_VAULT, port, RESOURCE_GROUP, LOCATION, now),
        )
        tenant = store.tenant_id
        lead = object_id(tenant, "lead")
        db.execute(
            "INSERT INTO principals (id, handle, kind, display_name, upn, mail, user_type, enabled,"
            " created, identity_header) VALUES (?, 'lead', 'User', 'Team Lead', ?, ?, 'Member', 1, ?, ?)",
            (lead, "lead@kvnb.local", "lead@kvnb.local", now, secrets.token_urlsafe(32)),
        )
        scope = (
            f"/subscriptions/{store.subscription_id}/resourceGroups/{RESOURCE_GROUP}"
            f"/providers/Microsoft.KeyVault/vaults/{FIRST_VAULT}"
        )
        db.execute(
            "INSERT INTO role_assignments (name, scope, role_definition_id, principal_id,"
            " principal_type, created_on, updated_on, created_by) VALUES (?, ?, ?, ?, 'User', ?, ?, ?)",
            (str(uuid.uuid4()), scope, ADMIN_ROLE, lead, now, now, lead),
        )


VAULT_NAME_RULE = "A vault name has 3-24 characters: letters, digits and dashes, starting with a letter."


def valid_vault_name(name: str) -> bool:
    import re

    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{2,23}", name)) and "--" not in name


def add_vault(store: Store, name: str, port: int) -> None:
    """Create an extra vault (empty; `lead` is its administrator)."""
    with store.transaction() as db:
        position = db.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM vaults").fetchone()[0]
        now = store.now()
        db.execute(
            "INSERT INTO vaults (name, position, port, resource_group, location, created) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET port = excluded.port",
            (name, position, port, RESOURCE_GROUP, LOCATION, now),
        )
        lead = object_id(store.tenant_id, "lead")
        scope = (
            f"/subscriptions/{store.subscription_id}/resourceGroups/{RESOURCE_GROUP}"
            f"/providers/Microsoft.KeyVault/vaults/{name}"
        )
        exists = db.execute(
            "SELECT 1 FROM role_assignments WHERE scope = ? AND principal_id = ?", (scope, lead)
        ).fetchone()
        if not exists:
            db.execute(
                "INSERT INTO role_assignments (name, scope, role_definition_id, principal_id,"
                " principal_type, created_on, updated_on, created_by)"
                " VALUES (?, ?, ?, ?, 'User', ?, ?, ?)",
                (str(uuid.uuid4()), scope, ADMIN_ROLE, lead, now, now, lead),
            )
