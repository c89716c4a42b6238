"""Effective access: what a principal (by default, you) may do with a vault's secrets, and why.

Azure RBAC's rule, evaluated client side from ARM's data: an assignment counts when it is made to the
principal or to a group it is in (transitively), sits at or above the resource, and its role's
dataActions (minus notDataActions) cover the operation's dataAction. Listing and restore are decided
on the vault; every other operation on the secret. A disabled account gets nothing. An assignment carrying a
condition is shown but never counted as allowing (conditions are not evaluated here), so a verdict
errs toward "no" and never promises what the vault would refuse.

Reading assignments needs ``roleAssignments/read``; if you lack it, your own assignments are read from
PIM's ``asTarget()`` schedule instances instead, which everyone may list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from .assignments import classify, end_times, fetch_assignments, secret_scope, utc, vault_scope
from .errors import PermissionMissingError
from .identity import whoami
from .principals import PrincipalInfo, Resolver, resolve_principal
from .resolvers import resolving
from .roles import SECRET_OPERATIONS, VAULT_LEVEL_OPERATIONS, role_catalogue

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget


@dataclass(frozen=True)
class RoleHeld:
    """One assignment that reaches the principal, and what it allows."""

    role_name: str | None
    role_id: str
    assignment_id: str
    scope: str
    scope_kind: str  # vault | secret | inherited
    assignee_id: str  # the principal itself, or the group the assignment is made to
    via: tuple[str, ...]  # group names from the principal's direct group to the assignee; () if direct
    inherited_from: str | None
    secret: str | None  # for secret-scope assignments
    end_time: datetime | None
    operations: tuple[str, ...]  # secret operations it allows where it applies
    conditional: bool = False

    @property
    def how(self) -> str:
        """``direct``, ``through group X`` and/or ``inherited from S``, as people say it."""
        parts = [f"through group {self.via[-1]}" if self.via else "direct"]
        if self.inherited_from:
            parts.append(f"inherited from {self.inherited_from}")
        if self.secret:
            parts.append(f"on secret {self.secret} only")
        if self.end_time is not None:
            parts.append(f"until {self.end_time:%Y-%m-%d %H:%M} UTC")
        return ", ".join(parts)


@dataclass(frozen=True)
class EffectiveAccess:
    principal: PrincipalInfo
    vault: str
    secret: str | None
    roles: tuple[RoleHeld, ...]
    operations: dict[str, bool]
    granted_by: dict[str, tuple[str, ...]]  # operation → role names that allow it
    notes: tuple[str, ...] = field(default=())

    def allows(self, operation: str) -> bool:
        if operation not in self.operations:
            raise ValueError(f"Unknown operation {operation!r}; one of {', '.join(SECRET_OPERATIONS)}.")
        return self.operations[operation]

    def to_frame(self):
        """One row per operation: ``operation``, ``allowed``, ``granted_by`` (role names)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {"operation": op, "allowed": allowed, "granted_by": ", ".join(self.granted_by[op])}
                for op, allowed in self.operations.items()
            ]
        )

    def roles_frame(self):
        """One row per role held: role, how it reaches the principal, until when, what it allows."""
        import pandas as pd

        columns = [
            "role_name",
            "role_id",
            "how",
            "scope_kind",
            "inherited_from",
            "secret",
            "end_time",
            "operations",
            "assignment_id",
        ]
        frame = pd.DataFrame(
            [
                {
                    "role_name": r.role_name,
                    "role_id": r.role_id,
                    "how": r.how,
                    "scope_kind": r.scope_kind,
                    "inherited_from": r.inherited_from,
                    "secret": r.secret,
                    "end_time": r.end_time,
                    "operations": ", ".join(r.operations),
                    "assignment_id": r.assignment_id,
                }
                for r in self.roles
            ],
            columns=columns,
        )
        frame["end_time"] = pd.to_datetime(frame["end_time"], utc=True)
        return frame


def _key(scope: str) -> str:
    return "/" + scope.strip().strip("/").lower()


def _at_or_above(candidate: str, resource: str) -> bool:
    c, r = _key(candidate), _key(resource)
    return c == "/" or c == r or r.startswith(c + "/")


@dataclass(frozen=True)
class _Grant:  # an assignment from either source, in one shape
    id: str
    scope: str
    role_definition_id: str
    principal_id: str
    condition: str | None
    end_time: datetime | None


def _my_grants(target: VaultTarget, vault: str) -> list[_Grant] | None:
    """Your own assignments from PIM's ``asTarget()`` instances; None when that cannot be read either."""
    from azure.core.exceptions import HttpResponseError

    try:
        instances = target.authorization_client.role_assignment_schedule_instances.list_for_scope(
            vault, filter="asTarget()"
        )
        return [
            _Grant(
                i.origin_role_assignment_id or i.id,
                i.scope,
                i.role_definition_id,
                i.principal_id,
                i.condition,
                utc(i.end_date_time),
            )
            for i in instances
        ]
    except HttpResponseError:
        return None


def _grants(target: VaultTarget, vault: str, *, me: bool) -> tuple[list[_Grant], tuple[str, ...]]:
    try:
        items = fetch_assignments(target, vault)
    except PermissionMissingError:
        mine = _my_grants(target, vault) if me else None
        if mine is None:  # no second source: say what is missing rather than guess "no access"
            raise
        note = (
            "You may not read role assignments on this vault; this shows your own, from PIM's schedule "
            "instances (asTarget())."
        )
        return mine, (note,)
    ends = end_times(target, vault)
    return [
        _Grant(a.id, a.scope, a.role_definition_id, a.principal_id, a.condition, ends.get(a.id.lower())) for a in items
    ], ()


def effective_access(
    target: VaultTarget, principal: str | None = None, *, secret: str | None = None, resolver: Resolver | None = None
) -> EffectiveAccess:
    """What *principal* (object id, UPN, group name or persona; default: you) may do on the vault or *secret*.

    Needs ``Microsoft.Authorization/roleAssignments/read`` at the vault (for yourself, PIM's
    ``asTarget()`` schedule instances do without it) and directory read access for group memberships.

    :raises kvnb.errors.PermissionMissingError: the assignments could not be read.
    :raises kvnb.errors.PrincipalNotFoundError: *principal* names nobody, or several.
    :raises kvnb.errors.MissingGraphPermissionError: Graph refused the directory lookups.
    """
    with resolving(target, resolver) as directory:
        return _effective_access(target, principal, secret, directory)


def _effective_access(
    target: VaultTarget, principal: str | None, secret: str | None, resolver: Resolver
) -> EffectiveAccess:
    me = principal is None
    if me:
        identity = whoami(target)
        who = resolver.get(identity.object_id) or PrincipalInfo(
            id=identity.object_id,
            kind=identity.kind,
            display_name=identity.display_name,
            user_principal_name=identity.user_principal_name,
            app_id=identity.app_id,
        )
    else:
        who = resolve_principal(principal, resolver=resolver)
    vault = vault_scope(target)
    resource = secret_scope(target, secret) if secret else vault
    grants, notes = _grants(target, vault, me=me)
    chains = resolver.member_of(who.id) if resolver.knows_groups else {}
    if not resolver.knows_groups:
        notes += (
            "Group memberships are unknown (no directory): only assignments made to the principal itself are counted.",
        )
    reach = {who.id.lower(): ()} | {g.lower(): chain for g, chain in chains.items()}
    group_names = resolver.lookup({g for chain in reach.values() for g in chain}) if chains else {}
    catalogue = role_catalogue(target, vault)
    held = []
    for grant in grants:
        chain = reach.get(grant.principal_id.lower())
        if chain is None or not (_at_or_above(grant.scope, resource) or _at_or_above(resource, grant.scope)):
            continue
        role = catalogue.by_id(grant.role_definition_id)
        kind, inherited_from, secret_name = classify(grant.scope, vault)
        held.append(
            RoleHeld(
                role_name=role.name if role else None,
                role_id=grant.role_definition_id.rsplit("/", 1)[-1].lower(),
                assignment_id=grant.id,
                scope=grant.scope,
                scope_kind=kind,
                assignee_id=grant.principal_id.lower(),
                via=tuple(group_names[g].label if g in group_names else g for g in chain),
                inherited_from=inherited_from,
                secret=secret_name,
                end_time=grant.end_time,
                operations=role.secret_operations() if role else (),
                conditional=bool(grant.condition),
            )
        )
    if who.enabled is False:
        notes += ("The account is disabled: it cannot sign in, so none of its roles apply.",)
    operations, granted_by = _verdicts(held, resource, vault, enabled=who.enabled is not False)
    return EffectiveAccess(
        principal=who,
        vault=target.name,
        secret=secret,
        roles=tuple(held),
        operations=operations,
        granted_by=granted_by,
        notes=notes,
    )


def _verdicts(held: list[RoleHeld], resource: str, vault: str, *, enabled: bool):
    operations, granted_by = {}, {}
    for operation in SECRET_OPERATIONS:
        # Listing and restore are checked on the vault; the rest on the secret (vault-wide: on every secret).
        where = vault if operation in VAULT_LEVEL_OPERATIONS else resource
        roles = tuple(
            dict.fromkeys(
                r.role_name or r.role_id
                for r in held
                if enabled and not r.conditional and operation in r.operations and _at_or_above(r.scope, where)
            )
        )
        operations[operation], granted_by[operation] = bool(roles), roles
    return operations, granted_by
