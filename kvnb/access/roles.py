"""The role catalogue, client side: name ↔ GUID, and which secret operations a role allows.

Definitions come from ARM (``role_definitions``), so custom roles work as well as built-in ones;
they are cached per target. Operations map to the dataAction Key Vault checks (facts B.1). Listing
and restore are checked on the vault (a restore names its secret only inside the backup blob), every
other operation on the secret named.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..permissions import SECRET_DATA_ACTIONS, VAULT_LEVEL_OPERATIONS, action_matches  # noqa: F401
from .errors import RoleNotFoundError

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

SECRET_OPERATIONS = SECRET_DATA_ACTIONS  # operation → the dataAction Key Vault checks
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def permission_matches(permission: str, action: str) -> bool:
    return action_matches(permission, action)


def role_guid(role_id: str) -> str:
    """The GUID at the end of a role definition id (or the GUID itself), lower-case."""
    return role_id.strip().rstrip("/").rsplit("/", 1)[-1].lower()


@dataclass(frozen=True)
class RoleInfo:
    id: str  # GUID
    name: str
    definition_id: str
    role_type: str = "BuiltInRole"
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()

    def allows_data_action(self, action: str) -> bool:
        return any(permission_matches(p, action) for p in self.data_actions) and not any(
            permission_matches(p, action) for p in self.not_data_actions
        )

    def allows_action(self, action: str) -> bool:
        return any(permission_matches(p, action) for p in self.actions) and not any(
            permission_matches(p, action) for p in self.not_actions
        )

    def secret_operations(self) -> tuple[str, ...]:
        """The secret operations this role's dataActions allow, in `SECRET_OPERATIONS` order."""
        return tuple(op for op, action in SECRET_OPERATIONS.items() if self.allows_data_action(action))

    @classmethod
    def from_definition(cls, definition) -> RoleInfo:
        """From an SDK ``RoleDefinition`` model."""
        blocks = definition.permissions or []

        def gather(name: str) -> tuple[str, ...]:
            return tuple(p for block in blocks for p in (getattr(block, name, None) or ()))

        return cls(
            id=role_guid(definition.id),
            name=definition.role_name,
            definition_id=definition.id,
            role_type=definition.role_type or "BuiltInRole",
            actions=gather("actions"),
            not_actions=gather("not_actions"),
            data_actions=gather("data_actions"),
            not_data_actions=gather("not_data_actions"),
        )


class RoleCatalogue:
    """Role definitions of one target, fetched through ``role_definitions`` on first use."""

    def __init__(self, client, scope: str, cache: tuple[dict, dict] | None = None):
        self._client, self._scope = client, scope
        self._by_id, self._by_name = cache if cache is not None else ({}, {})

    def _remember(self, role: RoleInfo) -> RoleInfo:
        self._by_id[role.id] = role
        self._by_name[role.name.casefold()] = role
        return role

    def by_id(self, role_id: str) -> RoleInfo | None:
        guid = role_guid(role_id)
        if guid not in self._by_id:
            from azure.core.exceptions import ResourceNotFoundError

            try:
                definition = self._client.role_definitions.get(self._scope, guid)
            except ResourceNotFoundError:
                return None
            self._remember(RoleInfo.from_definition(definition))
        return self._by_id[guid]

    def by_name(self, name: str) -> RoleInfo | None:
        key = name.strip().casefold()
        if key not in self._by_name:
            escaped = name.strip().replace("'", "''")
            for definition in self._client.role_definitions.list(self._scope, filter=f"roleName eq '{escaped}'"):
                self._remember(RoleInfo.from_definition(definition))
        return self._by_name.get(key)

    def resolve(self, role: str) -> RoleInfo:
        """A role given by name (``Key Vault Secrets User``), GUID or role definition id."""
        text = role.strip()
        found = self.by_id(text) if _GUID.match(role_guid(text)) else self.by_name(text)
        if found is None:
            raise RoleNotFoundError(
                f"No role named or numbered {role!r} at this vault. Check the spelling; "
                '`az role definition list --query "[].roleName"` lists them.'
            )
        return found


# Definitions seen per client; weak keys, so a closed and dropped client takes its cache along.
_CACHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def role_catalogue(target: VaultTarget, scope: str) -> RoleCatalogue:
    """A catalogue over *target*'s authorization client, sharing what earlier ones fetched."""
    client = target.authorization_client
    cache = _CACHES.get(client)
    if cache is None:
        cache = _CACHES[client] = ({}, {})
    return RoleCatalogue(client, scope, cache)
