"""Azure RBAC as the real service evaluates it: deny by default, allow when an active assignment grants.

An assignment applies to a request when its scope is the resource or an ancestor of it (at a path
segment boundary, case-insensitively), it is made to the caller or to a group the caller is in
(transitively), it is active on the vault clock, and its role permits the action. Control-plane
``actions`` and data-plane ``dataActions`` are separate lists: ``*`` in ``actions`` (Owner) grants
no data action. A role's ABAC condition (Key Vault Data Access Administrator's) and an
assignment's condition must hold too, evaluated with the request's attributes (`conditions`); a
condition that cannot be read or evaluated for the request grants nothing.

Per-request cost matters (the data plane asks on every call), so the assignment table, the
memberships and the disabled principals are read once per database generation, and each caller's
applicable assignments are memoised for the current second of the vault clock.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from ...permissions import action_matches, compile_patterns  # noqa: F401  (action_matches is re-exported)
from ..state.directory import group_paths
from ..state.store import Store
from .conditions import ConditionError, condition_holds
from .roles import RoleDefinition, role_by_id, role_guid

_MEMO_LIMIT = 4096


# -- matching ---------------------------------------------------------------------------------------
def _matcher(patterns: tuple[str, ...]) -> re.Pattern:
    return compile_patterns(patterns)


def role_permits(role: RoleDefinition, action: str, *, data_action: bool) -> bool:
    """Whether the role's permission lists grant *action* (its condition aside)."""
    if data_action:
        allowed, excluded = role.data_actions, role.not_data_actions
    else:
        allowed, excluded = role.actions, role.not_actions
    return _matcher(allowed).fullmatch(action) is not None and _matcher(excluded).fullmatch(action) is None


def normalize_scope(scope: str) -> str:
    """Lower-case, one leading slash, no trailing slash; the root scope is ``/``."""
    return "/" + scope.strip().strip("/").lower()


def scope_covers(scope: str, resource: str) -> bool:
    """Whether an assignment at *scope* applies to *resource* (both normalised)."""
    return scope == "/" or resource == scope or resource.startswith(scope + "/")


# -- results ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    allowed: bool
    assignment: str | None = None  # the granting assignment's name (a GUID)
    role: str | None = None  # the granting role's GUID


@dataclass(frozen=True)
class EffectiveAssignment:
    """One assignment that applies to a principal on a resource, and how it reaches them."""

    name: str
    role_definition_id: str  # GUID
    role_name: str | None  # None for a role this vault does not know
    scope: str  # as stored
    principal_id: str  # the assignee: the principal itself or a group
    principal_type: str
    via: tuple[str, ...]  # group chain from the principal's direct group to the assignee; () if direct
    inherited_from: str | None  # the assignment's scope when it lies above the resource
    start_time: int | None
    end_time: int | None
    condition: str | None

    @property
    def is_direct(self) -> bool:
        return not self.via

    @property
    def via_group(self) -> str | None:
        return self.via[-1] if self.via else None


@dataclass(frozen=True)
class _Assignment:
    name: str
    scope: str
    scope_key: str
    role_guid: str
    principal_id: str
    principal_type: str
    condition: str | None
    start_time: int | None
    end_time: int | None

    def active(self, now: int) -> bool:
        return (self.start_time is None or self.start_time <= now) and (self.end_time is None or now < self.end_time)


class _Snapshot:
    """Assignments, memberships and disabled principals as of one database generation."""

    def __init__(self, store: Store, generation):
        db = store.db
        self.generation = generation
        self.by_principal: dict[str, list[_Assignment]] = {}
        for row in db.execute(
            "SELECT name, scope, role_definition_id, principal_id, principal_type, condition, start_time, "
            "end_time FROM role_assignments"
        ):
            assignment = _Assignment(
                row["name"],
                row["scope"],
                normalize_scope(row["scope"]),
                role_guid(row["role_definition_id"]),
                row["principal_id"].lower(),
                row["principal_type"],
                row["condition"],
                row["start_time"],
                row["end_time"],
            )
            self.by_principal.setdefault(assignment.principal_id, []).append(assignment)
        parents: dict[str, list[str]] = {}
        for member, group in db.execute("SELECT member_id, group_id FROM memberships"):
            parents.setdefault(member.lower(), []).append(group.lower())
        self.parents = parents
        self.disabled = frozenset(row[0].lower() for row in db.execute("SELECT id FROM principals WHERE enabled = 0"))
        self._paths: dict[str, dict[str, tuple[str, ...]]] = {}

    def paths(self, principal_id: str) -> dict[str, tuple[str, ...]]:
        paths = self._paths.get(principal_id)
        if paths is None:
            paths = self._paths[principal_id] = group_paths(principal_id, self.parents)
        return paths


# -- the authorizer --------------------------------------------------------------------------------
class Authorizer:
    """Answers "may this principal do this action on this resource?" from the store's assignments."""

    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._memo_key: tuple | None = None
        self._memo: dict[tuple[str, str], tuple[tuple[_Assignment, tuple[str, ...]], ...]] = {}

    def check(
        self,
        principal_id: str,
        action: str,
        resource: str,
        *,
        data_action: bool,
        context: Mapping[str, object] | None = None,
    ) -> Decision:
        """Allow with the first granting assignment (most specific scope, direct before group), or deny.

        *context* carries the request's attributes for conditions, named as `conditions.attribute_key`
        does: for ``Microsoft.Authorization/roleAssignments/write`` the ``@Request`` attributes of the
        assignment being made, for ``/delete`` the ``@Resource`` ones of the assignment being removed
        (`conditions.role_assignment_attributes`).
        """
        for assignment, _ in self._applicable(principal_id, resource):
            role = role_by_id(assignment.role_guid)
            if role is None or not role_permits(role, action, data_action=data_action):
                continue
            if _conditions_hold((role.condition, assignment.condition), action, context or {}):
                return Decision(True, assignment.name, assignment.role_guid)
        return Decision(False)

    def roles_of(self, principal_id: str, resource: str) -> list[EffectiveAssignment]:
        """Every active assignment that applies to the principal on *resource*, and how it applies."""
        resource_key = normalize_scope(resource)
        result = []
        for assignment, via in self._applicable(principal_id, resource):
            role = role_by_id(assignment.role_guid)
            result.append(
                EffectiveAssignment(
                    name=assignment.name,
                    role_definition_id=assignment.role_guid,
                    role_name=role.role_name if role else None,
                    scope=assignment.scope,
                    principal_id=assignment.principal_id,
                    principal_type=assignment.principal_type,
                    via=via,
                    inherited_from=assignment.scope if assignment.scope_key != resource_key else None,
                    start_time=assignment.start_time,
                    end_time=assignment.end_time,
                    condition=assignment.condition,
                )
            )
        return result

    # -- internals -----------------------------------------------------------------------------
    def _applicable(self, principal_id: str, resource: str) -> tuple[tuple[_Assignment, tuple[str, ...]], ...]:
        principal_id, resource_key = principal_id.lower(), normalize_scope(resource)
        snapshot, now, memo = self._state()
        found = memo.get((principal_id, resource_key))
        if found is not None:
            return found
        candidates: list[tuple[_Assignment, tuple[str, ...]]] = []
        if principal_id not in snapshot.disabled:  # a disabled account keeps its assignments but gets nothing
            reach = {principal_id: (), **snapshot.paths(principal_id)}
            for assignee, via in reach.items():
                for assignment in snapshot.by_principal.get(assignee, ()):
                    if assignment.active(now) and scope_covers(assignment.scope_key, resource_key):
                        candidates.append((assignment, via))
        candidates.sort(key=lambda item: (-item[0].scope_key.count("/"), len(item[1]), item[0].name))
        found = tuple(candidates)
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[(principal_id, resource_key)] = found
        return found

    def _state(self) -> tuple[_Snapshot, int, dict]:
        generation = self.store.generation()
        now = self.store.now()
        with self._lock:
            if self._snapshot is None or self._snapshot.generation != generation:
                self._snapshot = _Snapshot(self.store, generation)
            if self._memo_key != (generation, now):
                # A new dict rather than clear(): another thread may still be reading the old one.
                self._memo_key, self._memo = (generation, now), {}
            return self._snapshot, now, self._memo


def _conditions_hold(conditions, action: str, context: Mapping[str, object]) -> bool:
    for condition in conditions:
        if not condition:
            continue
        try:
            if not condition_holds(condition, action, context):
                return False
        except ConditionError:
            return False  # fail closed: a condition that cannot be read or evaluated grants nothing
    return True


# -- the 403 message -------------------------------------------------------------------------------
def forbidden_by_rbac_message(
    caller_appid: str,
    caller_oid: str,
    tenant_id: str,
    action: str,
    resource: str,
    vault_name: str,
    location: str,
) -> str:
    """The real service's ForbiddenByRbac message: ``\\r\\n``-separated lines and a trailing ``\\r\\n``."""
    lines = [
        "Caller is not authorized to perform action on resource.",
        "If role assignments, deny assignments or role definitions were changed recently, please observe "
        "propagation time.",
        f"Caller: appid={caller_appid};oid={caller_oid};iss=https://sts.windows.net/{tenant_id}/",
        f"Action: '{action}'",
        f"Resource: '{resource.lower()}'",
        "Assignment: (not found)",
        "DenyAssignmentId: null",
        "DecisionReason: 'DeniedWithNoValidRBAC' ",  # the real service leaves this trailing space
        f"Vault: {vault_name};location={location}",
    ]
    return "\r\n".join(lines) + "\r\n"
