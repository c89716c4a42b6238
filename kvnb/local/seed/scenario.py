"""The seed: the article's vault and team, created on first start and by `kvnb local reset`.

The team lead governs ``azDevOpsKV01`` with three groups (admin, reader, secAccess); a build
pipeline reads through its own group; the "AzureAD team" has no access until a rotation needs it.
A few planted problems (a guest and a disabled user who still hold access, a direct assignment
that bypasses the groups, secrets without expiry or long unrotated) give the audit something real
to find. Secret values are random at every reset: none is ever written in the repository.
"""

from __future__ import annotations

import re
import secrets as random_source
from dataclasses import dataclass

from ..identity import roles
from ..state.assignments import create_assignment
from ..state.directory import Directory
from ..state.store import Store

FIRST_VAULT = "azDevOpsKV01"
RESOURCE_GROUP = "rg-devops"
LOCATION = "westeurope"
DAY = 86400

VAULT_NAME_RULE = "A vault name has 3-24 characters: letters, digits and dashes, starting with a letter."


@dataclass(frozen=True)
class Person:
    handle: str
    display_name: str
    user_type: str = "Member"
    enabled: bool = True


PEOPLE = (
    Person("lead", "Team Lead"),
    Person("backup", "Backup Administrator"),
    Person("member", "Team Member"),
    Person("newmember", "New Team Member"),
    Person("aad-team", "AzureAD Team Engineer"),
    Person("contractor", "External Contractor", user_type="Guest"),
    Person("leaver", "Former Team Member", enabled=False),
    Person("shortcut", "Developer With Direct Access"),
)

# group handle suffix -> (role, members); the group's display name is "<vault>_<suffix>".
GROUPS = {
    "admin": (roles.KEY_VAULT_ADMINISTRATOR, ("lead", "backup")),
    "reader": (roles.KEY_VAULT_READER, ("lead", "backup", "member", "newmember", "contractor", "leaver", "shortcut")),
    "secAccess": (roles.KEY_VAULT_SECRETS_USER, ("member", "contractor", "leaver")),
    "pipeline": (roles.KEY_VAULT_SECRETS_USER, ("pipeline",)),
}
AZUREAD_TEAM = "AzureAD team"


@dataclass(frozen=True)
class SeedSecret:
    name: str
    versions: int  # how many versions, the newest created `age_days` ago
    age_days: int
    content_type: str | None
    expires_in_days: int | None  # None: no expiry; negative: already expired
    enabled: bool = True
    tags: tuple[tuple[str, str], ...] = ()


SECRETS = (
    SeedSecret("APICaller", 3, 20, "text/plain", 160, tags=(("app", "partner-api"), ("owner", "devops"))),
    SeedSecret("WebhookSigningKey", 2, 30, "application/octet-stream", 300, tags=(("owner", "devops"),)),
    SeedSecret("DbConnectionString", 1, 400, "text/plain", None, tags=(("env", "prod"),)),
    SeedSecret("StorageAccountKey", 2, 85, "text/plain", 5),
    SeedSecret("PartnerSftpPassword", 1, 200, "text/plain", -12),
    SeedSecret("ServicePrincipalSecret", 1, 540, None, 700),
    SeedSecret("LegacyFtpPassword", 1, 900, "text/plain", None, enabled=False),
)


def vault_scope(store: Store, vault: str = FIRST_VAULT) -> str:
    return (
        f"/subscriptions/{store.subscription_id}/resourceGroups/{RESOURCE_GROUP}"
        f"/providers/Microsoft.KeyVault/vaults/{vault}"
    )


def valid_vault_name(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{2,23}", name)) and "--" not in name


def is_seeded(store: Store) -> bool:
    return store.db.execute("SELECT 1 FROM vaults WHERE position = 0").fetchone() is not None


def _insert_vault(store: Store, name: str, position: int, port: int) -> None:
    store.db.execute(
        "INSERT INTO vaults (name, position, port, resource_group, location, created) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET port = excluded.port",
        (name, position, port, RESOURCE_GROUP, LOCATION, store.now()),
    )


def reset(store: Store, *, empty: bool = False, first_port: int | None = None) -> None:
    """Back to the seed, or (``empty``) to an empty first vault where `lead` is administrator."""
    with store.transaction() as db:
        port_row = db.execute("SELECT port FROM vaults WHERE position = 0").fetchone()
        port = first_port if first_port is not None else (port_row[0] if port_row else 8443)
        # Everything but meta goes: meta keeps the tenant and subscription, so object ids stay stable.
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('meta', 'sqlite_sequence')"
            )
        ]
        for table in tables:
            db.execute(f'DELETE FROM "{table}"')
        db.execute("DELETE FROM meta WHERE key = 'clock_offset'")
        _insert_vault(store, FIRST_VAULT, 0, port)
        directory = Directory(store)
        lead = directory.create_user("lead", "Team Lead")
        create_assignment(store, vault_scope(store), roles.KEY_VAULT_ADMINISTRATOR, lead.id, "User", created_by=lead.id)
        if not empty:
            from .governance import seed_governance

            _seed_team(store, directory)
            seed_governance(store, directory)
            _seed_secrets(store)


def _seed_team(store: Store, directory: Directory) -> None:
    scope = vault_scope(store)
    lead = directory.principal_by_handle("lead")
    ids = {"lead": lead.id}
    for person in PEOPLE[1:]:
        ids[person.handle] = directory.create_user(
            person.handle,
            person.display_name,
            user_type=person.user_type,
            enabled=person.enabled,
        ).id
    pipeline = directory.create_service_principal("pipeline", "Build Pipeline (azure-devops)")
    ids["pipeline"] = pipeline.id
    long_ago = store.now() - 400 * DAY
    for suffix, (role, members) in GROUPS.items():
        group = directory.create_group(
            f"{FIRST_VAULT}_{suffix}",
            f"{FIRST_VAULT}_{suffix}",
            description=f"Holds {roles.role_by_id(role).role_name} on {FIRST_VAULT}",
        )
        for member in members:
            directory.add_member(group.id, ids[member])
        create_assignment(store, scope, role, group.id, "Group", created_by=lead.id, created_on=long_ago)
    team = directory.create_group("azuread-team", AZUREAD_TEAM, description="Issues the partner API keys")
    directory.add_member(team.id, ids["aad-team"])
    # The lead may write role assignments on the vault (to grant the AzureAD team temporary access).
    create_assignment(
        store,
        scope,
        roles.KEY_VAULT_DATA_ACCESS_ADMINISTRATOR,
        lead.id,
        "User",
        created_by=lead.id,
        created_on=long_ago,
    )
    # A shortcut someone took: a direct Secrets User assignment that bypasses the groups.
    create_assignment(
        store,
        scope,
        roles.KEY_VAULT_SECRETS_USER,
        ids["shortcut"],
        "User",
        created_by=lead.id,
        created_on=store.now() - 45 * DAY,
    )


def _seed_secrets(store: Store) -> None:
    from ..state.secrets import set_secret

    now = store.now()
    for seed in SECRETS:
        for index in range(seed.versions):
            # older versions are spaced 90 days apart before the newest
            created = now - (seed.age_days + 90 * (seed.versions - 1 - index)) * DAY
            newest = index == seed.versions - 1
            set_secret(
                store,
                FIRST_VAULT,
                seed.name,
                random_source.token_urlsafe(32),
                content_type=seed.content_type,
                tags=dict(seed.tags) or None,
                enabled=seed.enabled if newest else True,
                exp=(now + seed.expires_in_days * DAY) if (newest and seed.expires_in_days is not None) else None,
                created=created,
            )


def add_vault(store: Store, name: str, port: int) -> None:
    """Create an extra vault (empty; `lead` is its administrator)."""
    with store.transaction() as db:
        position = db.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM vaults").fetchone()[0]
        _insert_vault(store, name, position, port)
        lead = Directory(store).principal_by_handle("lead")
        scope = vault_scope(store, name)
        exists = db.execute(
            "SELECT 1 FROM role_assignments WHERE scope = ? AND principal_id = ?", (scope, lead.id)
        ).fetchone()
        if not exists:
            # As on the first vault: the lead administers it and may grant access to it.
            for role in (roles.KEY_VAULT_ADMINISTRATOR, roles.KEY_VAULT_DATA_ACCESS_ADMINISTRATOR):
                create_assignment(store, scope, role, lead.id, "User", created_by=lead.id)
