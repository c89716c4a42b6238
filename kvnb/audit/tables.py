"""Pure builders of the audit's DataFrames: secrets, role assignments, reviews, vault configuration.

Inputs are what the SDKs and Graph return (objects or mappings with the SDK's attribute names);
outputs have the documented columns below, times as timezone-aware UTC timestamps. Nothing here
does I/O, and nothing here ever sees a secret value: secrets come from ``list_properties_of_*``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from ..permissions import GET_SECRET, permits

SECRET_COLUMNS = [
    "name",
    "enabled",
    "content_type",
    "created",
    "updated",
    "last_rotated",
    "not_before",
    "expires",
    "days_to_expiry",
    "days_since_rotation",
    "age_days",
    "version_count",
    "tags",
    "managed",
]
ROLE_ASSIGNMENT_COLUMNS = [
    "assignment_id",
    "role",
    "role_id",
    "role_type",
    "data_plane",
    "privileged",
    "reads_secret_values",
    "can_assign_roles",
    "principal_id",
    "principal_name",
    "principal_upn",
    "principal_type",
    "user_type",
    "account_enabled",
    "resolved",
    "via_group",
    "group_member_count",
    "scope_kind",
    "secret",
    "inherited_from",
    "scope",
    "created_on",
    "created_by",
    "end_time",
    "condition",
]
REVIEW_COLUMNS = [
    "group",
    "group_id",
    "roles",
    "status",
    "reason",
    "recurrence",
    "last_completed",
    "next_due",
    "days_since_review",
    "auto_apply",
    "not_reviewed_share",
    "pending_denies",
    "definition_id",
]
VAULT_COLUMNS = [
    "name",
    "url",
    "resource_id",
    "enable_rbac_authorization",
    "enable_soft_delete",
    "soft_delete_retention_days",
    "enable_purge_protection",
    "public_network_access",
    "network_default_action",
    "private_endpoints",
    "audit_logging",
    "defender_for_key_vault",
]

_ROLE_WRITE = "Microsoft.Authorization/roleAssignments/write"
_VAULT_WRITE = "Microsoft.KeyVault/vaults/write"
# Data actions that change or destroy what a vault holds: holding one makes a role privileged.
_DATA_WRITES = tuple(
    f"Microsoft.KeyVault/vaults/{a}"
    for a in (
        "secrets/setSecret/action",
        "secrets/delete",
        "secrets/purge/action",
        "keys/delete",
        "keys/create/action",
        "certificates/delete",
        "certificates/create/action",
    )
)


def _get(item: Any, *names: str, default=None):
    """An attribute of an SDK model, or a key of a mapping; the first of *names* that exists."""
    for name in names:
        if isinstance(item, Mapping):
            if name in item:
                return item[name]
        elif hasattr(item, name):
            return getattr(item, name)
    return default


def _utc(value) -> pd.Timestamp:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return pd.NaT
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return pd.Timestamp(value, unit="s", tz="UTC")
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return pd.NaT
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _days(delta) -> float:
    return delta / pd.Timedelta(days=1) if not pd.isna(delta) else float("nan")


def _now(now: datetime | pd.Timestamp | None) -> pd.Timestamp:
    return _utc(now) if now is not None else pd.Timestamp.now(tz="UTC")


# -- secrets ---------------------------------------------------------------------------------------
def secrets_table(
    properties: Iterable[Any], *, versions: Mapping[str, tuple[int, Any]] | None = None, now: datetime | None = None
) -> pd.DataFrame:
    """One row per secret from ``list_properties_of_secrets`` items (metadata only).

    *versions* maps a secret name to ``(version_count, first_created)`` from
    ``list_properties_of_secret_versions``; until it arrives those two columns stay empty and
    ``created`` is the current version's. ``last_rotated`` is the current version's ``created``.
    """
    now_ts = _now(now)
    versions = versions or {}
    rows = []
    for item in properties:
        name = _get(item, "name")
        current = _utc(_get(item, "created_on", "created"))
        count, first = versions.get(name, (None, None))
        created = _utc(first) if first is not None else current
        expires = _utc(_get(item, "expires_on", "expires"))
        tags = _get(item, "tags") or {}
        rows.append(
            {
                "name": name,
                "enabled": bool(_get(item, "enabled", default=True)),
                "content_type": _get(item, "content_type") or None,
                "created": created,
                "updated": _utc(_get(item, "updated_on", "updated")),
                "last_rotated": current,
                "not_before": _utc(_get(item, "not_before")),
                "expires": expires,
                "days_to_expiry": _days(expires - now_ts) if not pd.isna(expires) else float("nan"),
                "days_since_rotation": _days(now_ts - current),
                "age_days": _days(now_ts - created),
                "version_count": count,
                "tags": ", ".join(f"{k}={v}" for k, v in sorted(tags.items())),
                "managed": bool(_get(item, "managed", default=False)),
            }
        )
    frame = pd.DataFrame(rows, columns=SECRET_COLUMNS)
    frame["version_count"] = frame["version_count"].astype("Int64")
    return frame.sort_values("name", key=lambda s: s.str.lower(), ignore_index=True)


# -- roles -----------------------------------------------------------------------------------------
def _allows(allowed: Iterable[str], denied: Iterable[str], action: str) -> bool:
    return permits(allowed, denied, action)


def classify_role(definition: Any) -> dict:
    """What a role definition (SDK ``RoleDefinition`` or mapping) may do, for the assignment table."""
    actions, not_actions, data_actions, not_data = [], [], [], []
    for block in _get(definition, "permissions", default=None) or []:
        actions += list(_get(block, "actions", default=None) or [])
        not_actions += list(_get(block, "not_actions", "notActions", default=None) or [])
        data_actions += list(_get(block, "data_actions", "dataActions", default=None) or [])
        not_data += list(_get(block, "not_data_actions", "notDataActions", default=None) or [])
    can_assign = _allows(actions, not_actions, _ROLE_WRITE)
    writes_data = any(_allows(data_actions, not_data, action) for action in _DATA_WRITES)
    return {
        "role": _get(definition, "role_name", "roleName"),
        "role_type": _get(definition, "role_type", "type"),
        "data_plane": bool(data_actions),
        "can_assign_roles": can_assign,
        "reads_secret_values": _allows(data_actions, not_data, GET_SECRET),
        "privileged": can_assign or writes_data or _allows(actions, not_actions, _VAULT_WRITE),
    }


def role_guid(role_definition_id: str) -> str:
    return str(role_definition_id).rstrip("/").rsplit("/", 1)[-1].lower()


# -- scopes ----------------------------------------------------------------------------------------
_SCOPE_KINDS = (
    (re.compile(r"^/subscriptions/[^/]+/resourcegroups/([^/]+)$", re.I), "resource group"),
    (re.compile(r"^/subscriptions/([^/]+)$", re.I), "subscription"),
    (re.compile(r"^/providers/microsoft\.management/managementgroups/([^/]+)$", re.I), "management group"),
)


def describe_scope(scope: str, vault_resource_id: str) -> tuple[str, str | None, str | None]:
    """(scope_kind, secret name, inherited_from) of an assignment's scope relative to the vault."""
    normal = "/" + scope.strip("/")
    vault = "/" + vault_resource_id.strip("/")
    if normal.lower() == vault.lower():
        return "vault", None, None
    secret_prefix = vault.lower() + "/secrets/"
    if normal.lower().startswith(secret_prefix):
        return "secret", normal[len(secret_prefix) :].split("/")[0], None
    # ARM lists a management group's assignments for the vault only when the vault's subscription
    # sits under that group; the ids alone cannot show it, so such a scope always counts as above.
    above = normal == "/" or vault.lower().startswith(normal.lower() + "/") or bool(_SCOPE_KINDS[2][0].match(normal))
    if above:
        for pattern, kind in _SCOPE_KINDS:
            match = pattern.match(normal)
            if match:
                return kind, None, f"{kind} {match.group(1)}"
        return "root" if normal == "/" else "ancestor", None, normal
    return "other", None, None


# -- role assignments ------------------------------------------------------------------------------
def _principal_columns(principal_id: str, principal_type: str, principals: Mapping[str, Any] | None) -> dict:
    if principals is None:  # the caller could not read the directory
        return {
            "principal_name": None,
            "principal_upn": None,
            "user_type": None,
            "account_enabled": None,
            "resolved": None,
        }
    found = principals.get(principal_id)
    if found is None:  # the directory answered and does not know it: an orphaned assignment
        return {
            "principal_name": None,
            "principal_upn": None,
            "user_type": None,
            "account_enabled": None,
            "resolved": False,
        }
    if _get(found, "found", default=True) is False:
        return {
            "principal_name": None,
            "principal_upn": None,
            "user_type": None,
            "account_enabled": None,
            "resolved": False,
        }
    enabled = _get(found, "account_enabled", "accountEnabled", "enabled")
    return {
        "principal_name": _get(found, "display_name", "displayName"),
        "principal_upn": _get(found, "user_principal_name", "userPrincipalName", "upn", "principal_name"),
        "user_type": _get(found, "user_type", "userType") if principal_type == "User" else None,
        "account_enabled": None if enabled is None else bool(enabled),
        "resolved": True,
    }


def role_assignments_table(
    assignments: Iterable[Any],
    *,
    vault_resource_id: str,
    roles: Mapping[str, Any],
    principals: Mapping[str, Any] | None = None,
    members: Mapping[str, Iterable[str]] | None = None,
) -> pd.DataFrame:
    """One row per assignment that applies to the vault or one of its secrets, plus, for a group,
    one row per transitive member (``via_group`` names the group).

    *roles* maps role GUIDs to definitions (a missing one marks the role as deleted); *principals*
    maps object ids to directory objects (``getByIds``), or is None when the caller cannot read the
    directory; *members* maps group ids to their transitive member ids.
    """
    classes = {guid.lower(): classify_role(definition) for guid, definition in roles.items()}
    unknown_role = {
        "role": None,
        "role_type": None,
        "data_plane": None,
        "can_assign_roles": None,
        "reads_secret_values": None,
        "privileged": None,
    }
    members = members or {}
    rows = []
    for item in assignments:
        scope = _get(item, "scope") or ""
        scope_kind, secret, inherited = describe_scope(scope, vault_resource_id)
        if scope_kind == "other":
            continue
        guid = role_guid(_get(item, "role_definition_id", "roleDefinitionId"))
        principal_id = str(_get(item, "principal_id", "principalId")).lower()
        principal_type = _get(item, "principal_type", "principalType") or "Unknown"
        principal_type = getattr(principal_type, "value", principal_type)
        group_members = list(members.get(principal_id, ())) if principal_type == "Group" else []
        base = {
            "assignment_id": _get(item, "name"),
            "role_id": guid,
            **classes.get(guid, unknown_role),
            "scope_kind": scope_kind,
            "secret": secret,
            "inherited_from": inherited,
            "scope": scope,
            "created_on": _utc(_get(item, "created_on", "createdOn")),
            "created_by": _get(item, "created_by", "createdBy"),
            "end_time": _utc(_get(item, "end_time", "endTime")),
            "condition": _get(item, "condition"),
            "group_member_count": len(group_members) if principal_type == "Group" and principals is not None else None,
        }
        rows.append(
            {
                **base,
                "principal_id": principal_id,
                "principal_type": principal_type,
                "via_group": None,
                **_principal_columns(principal_id, principal_type, principals),
            }
        )
        if principal_type == "Group" and principals is not None:
            group_name = _get(principals.get(principal_id), "display_name", "displayName") or principal_id
            for member_id in group_members:
                member = principals.get(member_id)
                member_type = _directory_type(member)
                if member_type == "Group":
                    continue  # nested groups: their members are listed themselves (transitive)
                rows.append(
                    {
                        **base,
                        "principal_id": member_id,
                        "principal_type": member_type,
                        "via_group": group_name,
                        **_principal_columns(member_id, member_type, principals),
                    }
                )
    frame = pd.DataFrame(rows, columns=ROLE_ASSIGNMENT_COLUMNS)
    frame["group_member_count"] = frame["group_member_count"].astype("Int64")
    return frame


_ODATA_TYPES = {
    "#microsoft.graph.user": "User",
    "#microsoft.graph.group": "Group",
    "#microsoft.graph.servicePrincipal": "ServicePrincipal",
}


def _directory_type(principal: Any) -> str:
    if principal is None:
        return "Unknown"
    kind = _get(principal, "principal_type", "type", "@odata.type", "kind")
    return _ODATA_TYPES.get(kind, kind or "Unknown")


# -- reviews ---------------------------------------------------------------------------------------
def reviews_table(statuses: Iterable[Any] | pd.DataFrame, *, now: datetime | None = None) -> pd.DataFrame:
    """One row per group holding a role on the vault: its 60-day review status (audit-checks.md §2).

    The status is derived by `kvnb.governance.reviews.review_status`; this keeps the audit's columns.
    """
    now_ts = _now(now)
    items = statuses.to_dict("records") if isinstance(statuses, pd.DataFrame) else list(statuses)
    rows = []
    for item in items:
        last = _utc(_get(item, "last_completed"))
        rows.append(
            {
                "group": _get(item, "group_name", "group", "display_name") or _get(item, "group_id"),
                "group_id": str(_get(item, "group_id", default="") or "").lower() or None,
                "roles": _get(item, "roles"),
                "status": _get(item, "status"),
                "reason": _get(item, "reason"),
                "recurrence": _get(item, "recurrence"),
                "last_completed": last,
                "next_due": _utc(_get(item, "next_due")),
                "days_since_review": _days(now_ts - last) if not pd.isna(last) else float("nan"),
                "auto_apply": _get(item, "auto_apply"),
                "not_reviewed_share": _get(item, "not_reviewed_share"),
                "pending_denies": _get(item, "pending_denies", default=0),
                "definition_id": _get(item, "definition_id"),
            }
        )
    return pd.DataFrame(rows, columns=REVIEW_COLUMNS)


# -- vault -----------------------------------------------------------------------------------------
def vault_table(
    resource: Mapping[str, Any],
    *,
    url: str | None = None,
    audit_logging: bool | None = None,
    defender_for_key_vault: bool | None = None,
) -> pd.DataFrame:
    """One row: the configuration properties the checks need, from ARM's vault resource (GET)."""
    props = resource.get("properties", {}) or {}
    acls = props.get("networkAcls") or {}
    endpoints = [
        c
        for c in props.get("privateEndpointConnections") or []
        if ((c.get("properties") or c).get("privateLinkServiceConnectionState") or {}).get("status") == "Approved"
    ]
    row = {
        "name": resource.get("name"),
        "url": url or props.get("vaultUri"),
        "resource_id": resource.get("id"),
        "enable_rbac_authorization": bool(props.get("enableRbacAuthorization", False)),
        # Soft delete is on unless explicitly false (it can no longer be turned off on Azure).
        "enable_soft_delete": props.get("enableSoftDelete") is not False,
        "soft_delete_retention_days": props.get("softDeleteRetentionInDays"),
        "enable_purge_protection": bool(props.get("enablePurgeProtection", False)),
        "public_network_access": props.get("publicNetworkAccess", "Enabled"),
        "network_default_action": acls.get("defaultAction", "Allow"),
        "private_endpoints": len(endpoints),
        "audit_logging": audit_logging,
        "defender_for_key_vault": defender_for_key_vault,
    }
    return pd.DataFrame([row], columns=VAULT_COLUMNS)


def vault_table_from_recovery_level(
    name: str, url: str, resource_id: str | None, recovery_level: str | None, recoverable_days: int | None
) -> pd.DataFrame:
    """What the data plane alone tells about the vault, for callers who cannot read its ARM resource.

    Every secret carries the vault's ``recoveryLevel``: ``Purgeable`` means soft delete is off, a
    level with ``+Purgeable`` means purge protection is off, ``Recoverable`` (or
    ``CustomizedRecoverable``, ``…+ProtectedSubscription``) means it is on. Other columns stay None
    (unknown), and their checks report a limitation.
    """
    level = recovery_level or ""
    known = bool(level)
    row = dict.fromkeys(VAULT_COLUMNS)
    row.update(
        {
            "name": name,
            "url": url,
            "resource_id": resource_id,
            "enable_soft_delete": (level != "Purgeable") if known else None,
            "enable_purge_protection": ("Purgeable" not in level) if known else None,
            "soft_delete_retention_days": recoverable_days if known else None,
        }
    )
    return pd.DataFrame([row], columns=VAULT_COLUMNS).astype(object)
