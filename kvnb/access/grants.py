"""Grant and revoke roles at a vault or one secret; idempotent, optionally time-bound.

A permanent grant is a role assignment (``role_assignments.create``). A time-bound grant
(``duration=`` or ``until=``) is a PIM ``AdminAssign`` schedule request: the service itself ends it
on time, nobody has to remember to revoke. A duration starts at the service's own "now" (the request
carries no start time), so it also holds on a local vault whose clock has been moved.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from kvnb.durations import iso_duration, parse_duration

from .assignments import end_times, fetch_assignments, secret_scope, utc, vault_scope
from .errors import DELETE, WRITE, AccessError, PermissionMissingError, raise_for_forbidden
from .principals import PrincipalInfo, Resolver, resolve_principal
from .resolvers import resolving
from .roles import RoleInfo, role_catalogue, role_guid

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget


@dataclass(frozen=True)
class GrantResult:
    principal: PrincipalInfo
    role: RoleInfo
    scope: str
    assignment_id: str | None  # None while a scheduled grant has not started
    created: bool  # False: the principal already held the role at this scope (nothing changed)
    end_time: datetime | None = None
    request_id: str | None = None  # the schedule request of a time-bound grant


@dataclass(frozen=True)
class RevokeResult:
    principal: PrincipalInfo
    role: RoleInfo
    scope: str
    removed: tuple[str, ...]  # assignment ids removed; empty when there was nothing to remove


def _scope(target: VaultTarget, secret: str | None) -> str:
    return secret_scope(target, secret) if secret else vault_scope(target)


def _same(a: str, b: str) -> bool:
    return a.strip("/").lower() == b.strip("/").lower()


def _existing(target: VaultTarget, scope: str, principal_id: str, role: RoleInfo) -> list:
    """The principal's assignments of *role* at exactly *scope*; [] when the caller may not read them."""
    try:
        found = fetch_assignments(target, scope, filter=f"principalId eq '{principal_id}'")
    except PermissionMissingError:  # let the write itself answer: its error names the permission that matters
        return []
    return [
        a
        for a in found
        if _same(a.scope, scope)
        and role_guid(a.role_definition_id) == role.id
        and a.principal_id.lower() == principal_id.lower()
    ]


def _expiration(duration, until) -> dict | None:
    if duration is not None and until is not None:
        raise ValueError("Give duration= or until=, not both.")
    if duration is not None:
        delta = duration if isinstance(duration, timedelta) else parse_duration(str(duration))
        if delta.total_seconds() <= 0:
            raise ValueError("duration= must be positive, e.g. '1h' or 'PT8H'.")
        return {"type": "AfterDuration", "duration": iso_duration(delta)}
    if until is not None:
        moment = datetime.fromisoformat(until.replace("Z", "+00:00")) if isinstance(until, str) else until
        moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
        return {"type": "AfterDateTime", "endDateTime": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    return None


def grant(
    target: VaultTarget,
    principal: str,
    role: str,
    *,
    secret: str | None = None,
    duration=None,
    until=None,
    justification: str | None = None,
    resolver: Resolver | None = None,
    _retried: bool = False,
) -> GrantResult:
    """Give *principal* the *role* on the vault (or on *secret* only); for a while with duration=/until=.

    *principal*: object id, user principal name, group display name or (local vault) persona handle.
    *role*: a name such as ``Key Vault Secrets User``, or a GUID. Granting what is already held changes
    nothing and returns ``created=False``.

    Needs ``Microsoft.Authorization/roleAssignments/write`` at the scope (Key Vault Data Access
    Administrator for Key Vault roles, User Access Administrator or Owner).

    :raises kvnb.errors.PermissionMissingError: ARM refused the write (403).
    :raises kvnb.errors.PrincipalNotFoundError: *principal* names nobody, or several.
    :raises kvnb.errors.RoleNotFoundError: *role* is no role definition.
    :raises ValueError: *duration* or *until* cannot be read, or both are given.
    """
    from azure.core.exceptions import HttpResponseError, ResourceExistsError

    expiration = _expiration(duration, until)
    scope = _scope(target, secret)
    with resolving(target, resolver) as directory:
        who = resolve_principal(principal, resolver=directory)
    held = role_catalogue(target, vault_scope(target)).resolve(role)
    existing = _existing(target, scope, who.id, held)
    if existing:
        ends = end_times(target, scope)
        return GrantResult(who, held, scope, existing[0].id, created=False, end_time=ends.get(existing[0].id.lower()))
    client = target.authorization_client
    try:
        if expiration is None:
            properties = {"roleDefinitionId": held.definition_id, "principalId": who.id}
            if who.kind:
                properties["principalType"] = who.kind
            if justification:
                properties["description"] = justification
            made = client.role_assignments.create(scope, str(uuid.uuid4()), {"properties": properties})
            return GrantResult(who, held, scope, made.id, created=True)
        request = client.role_assignment_schedule_requests.create(
            scope,
            str(uuid.uuid4()),
            {
                "properties": {
                    "roleDefinitionId": held.definition_id,
                    "principalId": who.id,
                    "requestType": "AdminAssign",
                    "justification": justification or f"kvnb grant of {held.name}",
                    "scheduleInfo": {"expiration": expiration},
                }
            },
        )
    except ResourceExistsError:
        if _retried:  # e.g. a grant scheduled to start later: ARM lists it only once it has started
            raise AccessError(
                f"{who.label} already has {held.name} on {target.name} (it may not have started "
                "yet); revoke it first to change it."
            ) from None
        # Made by someone else between our look and our write: report theirs.
        return grant(target, principal, role, secret=secret, resolver=resolver, _retried=True)
    except HttpResponseError as exc:
        raise_for_forbidden(exc, WRITE, scope, target.name, role=held.name)
    made = _existing(target, scope, who.id, held) if request.target_role_assignment_schedule_instance_id else []
    assignment_id = made[0].id if made else None
    end_time = utc(request.schedule_info.expiration.end_date_time) if request.schedule_info else None
    if end_time is None and assignment_id:
        end_time = end_times(target, scope).get(assignment_id.lower())
    return GrantResult(who, held, scope, assignment_id, created=True, end_time=end_time, request_id=request.id)


def revoke(
    target: VaultTarget, principal: str, role: str, *, secret: str | None = None, resolver: Resolver | None = None
) -> RevokeResult:
    """Take *role* at the vault (or *secret*) away from *principal*; nothing to take is not an error.

    A time-bound assignment is removed through an ``AdminRemove`` schedule request, a permanent one
    by deleting the role assignment. Assignments inherited from above or made to a group the principal
    is in are not touched.

    Needs ``Microsoft.Authorization/roleAssignments/delete`` at the scope (as `grant`).

    :raises kvnb.errors.PermissionMissingError: ARM refused (403).
    :raises kvnb.errors.PrincipalNotFoundError: *principal* names nobody, or several.
    :raises kvnb.errors.RoleNotFoundError: *role* is no role definition.
    """
    from azure.core.exceptions import HttpResponseError

    scope = _scope(target, secret)
    with resolving(target, resolver) as directory:
        who = resolve_principal(principal, resolver=directory)
    held = role_catalogue(target, vault_scope(target)).resolve(role)
    existing = _existing(target, scope, who.id, held)
    scheduled = end_times(target, scope)
    client = target.authorization_client
    removed = []
    try:
        for assignment in existing:
            if assignment.id.lower() in scheduled:
                client.role_assignment_schedule_requests.create(
                    scope,
                    str(uuid.uuid4()),
                    {
                        "properties": {
                            "roleDefinitionId": held.definition_id,
                            "principalId": who.id,
                            "requestType": "AdminRemove",
                            "justification": f"kvnb revoke of {held.name}",
                        }
                    },
                )
            else:
                client.role_assignments.delete_by_id(assignment.id)
            removed.append(assignment.id)
    except HttpResponseError as exc:
        raise_for_forbidden(exc, DELETE, scope, target.name, role=held.name)
    return RevokeResult(who, held, scope, tuple(removed))


def secret_of_scope(scope: str | None) -> str | None:
    """The secret a ``--scope secret/NAME`` option names; None for the vault (no scope, or ``vault``).

    :raises ValueError: any other shape, or a name Key Vault would refuse.
    """
    if scope in (None, "vault"):
        return None
    kind, _, name = scope.partition("/")
    if kind != "secret" or not name:
        raise ValueError("--scope takes secret/NAME (or vault).")
    from kvnb.names import check_name

    check_name(name)
    return name
