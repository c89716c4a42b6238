"""Role assignments of a vault, its secrets and the scopes above it, as a DataFrame.

Columns (times are timezone-aware UTC; a missing value is ``None``/``NaT``):

==================  =============================================================================
principal_id        object id of the assignee (a user, group or service principal)
principal_type      ``User``, ``Group`` or ``ServicePrincipal``, as ARM names them
principal_name      user principal name or display name, when the directory is reachable
role_name           e.g. ``Key Vault Secrets User``
role_id             the role definition's GUID
scope               the assignment's scope, as ARM returns it
scope_kind          ``vault``, ``secret`` (one secret of the vault) or ``inherited`` (resource group,
                    subscription, management group or root)
inherited_from      the scope it is inherited from (``inherited`` rows only)
secret              the secret's name (``secret`` rows only)
created_on          when the assignment was made
created_by          object id of whoever made it
end_time            when a time-bound assignment ends (from its schedule instance); NaT if permanent
assignment_id       the assignment's resource id (what `revoke` and ``az role assignment delete --ids`` take)
==================  =============================================================================
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from .errors import READ, raise_for_forbidden
from .principals import Resolver
from .resolvers import resolving
from .roles import role_catalogue, role_guid

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

COLUMNS = (
    "principal_id",
    "principal_type",
    "principal_name",
    "role_name",
    "role_id",
    "scope",
    "scope_kind",
    "inherited_from",
    "secret",
    "created_on",
    "created_by",
    "end_time",
    "assignment_id",
)


def vault_scope(target: VaultTarget) -> str:
    if not getattr(target, "resource_id", None):
        from kvnb.errors import VaultReferenceError

        raise VaultReferenceError(
            f"The resource id of {target.name} is unknown, so its role assignments cannot be "
            "read. Open the vault by its resource id or subscription."
        )
    return target.resource_id


def secret_scope(target: VaultTarget, secret: str) -> str:
    return f"{vault_scope(target)}/secrets/{secret}"


def _key(scope: str) -> str:
    return "/" + scope.strip().strip("/").lower()


def classify(scope: str, vault: str) -> tuple[str, str | None, str | None]:
    """(scope_kind, inherited_from, secret) of an assignment at *scope* seen from the vault."""
    s, v = _key(scope), _key(vault)
    if s == v:
        return "vault", None, None
    if s.startswith(v + "/secrets/"):
        return "secret", None, scope.strip().rstrip("/").rsplit("/", 1)[-1]
    return "inherited", scope, None


def utc(value) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def fetch_assignments(target: VaultTarget, scope: str, *, filter: str | None = None) -> list:
    """``role_assignments.list_for_scope``; a 403 becomes `PermissionMissingError`."""
    from azure.core.exceptions import HttpResponseError

    try:
        return list(target.authorization_client.role_assignments.list_for_scope(scope, filter=filter))
    except HttpResponseError as exc:
        raise_for_forbidden(exc, READ, scope, target.name)


def end_times(target: VaultTarget, scope: str) -> dict[str, datetime]:
    """Assignment id (lower-case) → end time, from schedule instances; empty when they cannot be read."""
    from azure.core.exceptions import HttpResponseError

    try:
        instances = target.authorization_client.role_assignment_schedule_instances.list_for_scope(scope)
        return {
            i.origin_role_assignment_id.lower(): utc(i.end_date_time)
            for i in instances
            if i.origin_role_assignment_id and i.end_date_time
        }
    except HttpResponseError:  # PIM may be unavailable (licence, permission): end times stay unknown
        return {}


def _names(target: VaultTarget, ids: set[str], resolver: Resolver | None) -> dict:
    """Principal names: a courtesy, so a directory that cannot be read leaves them empty."""
    from azure.core.exceptions import HttpResponseError

    try:
        with resolving(target, resolver) as directory:
            return dict(directory.lookup(ids))
    except HttpResponseError:
        return {}


def list_role_assignments(target: VaultTarget, *, secret: str | None = None, resolver: Resolver | None = None):
    """Every assignment at the vault (or one secret), on its secrets, and inherited from above.

    Needs ``Microsoft.Authorization/roleAssignments/read`` at the vault (Key Vault Reader, Reader,
    Owner, ...).

    :raises kvnb.errors.PermissionMissingError: ARM refused the read (403).
    :raises kvnb.errors.VaultReferenceError: the vault's resource id is unknown.
    """
    import pandas as pd

    vault = vault_scope(target)
    scope = secret_scope(target, secret) if secret else vault
    items = fetch_assignments(target, scope)
    ends = end_times(target, scope)
    catalogue = role_catalogue(target, vault)
    names = _names(target, {a.principal_id.lower() for a in items}, resolver) if items else {}
    rows = []
    for item in items:
        kind, inherited_from, secret_name = classify(item.scope, vault)
        role = catalogue.by_id(item.role_definition_id)
        principal = names.get(item.principal_id.lower())
        rows.append(
            {
                "principal_id": item.principal_id,
                "principal_type": item.principal_type,
                "principal_name": principal.label if principal else None,
                "role_name": role.name if role else None,
                "role_id": role_guid(item.role_definition_id),
                "scope": item.scope,
                "scope_kind": kind,
                "inherited_from": inherited_from,
                "secret": secret_name,
                "created_on": utc(item.created_on),
                "created_by": item.created_by,
                "end_time": ends.get(item.id.lower()),
                "assignment_id": item.id,
            }
        )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in ("created_on", "end_time"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame
