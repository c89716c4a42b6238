"""A governance plan: which groups hold which roles on a vault, declared once, checked and applied.

The seed's team works this way: access goes to groups (``azDevOpsKV01_admin`` → Key Vault
Administrator, ``…_reader`` → Key Vault Reader, ``…_secAccess`` and ``…_pipeline`` → Key Vault
Secrets User) and people join groups. `check_plan` reports drift at the vault and its secrets:

* **missing**: a planned assignment that is not there;
* **extra**: a group holding a role the plan does not give it;
* **bypass**: a user or service principal holding a role directly, going around the groups
  (unless the plan lists it under ``allowed``). The seed's plan allows nothing: the lead's own
  standing administrator assignments are drift here as they are findings in the audit (R2, R7, P1).

`apply_plan` creates what is missing and removes extra and bypass assignments only when asked
(``remove=True``), never the caller's own: removing them mid-way would lock the caller out of the
rest; they stay as drift (`PlanResult.kept`) for someone else to decide. Inherited assignments (resource group, subscription) are out of a vault plan's reach.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .assignments import classify, fetch_assignments, vault_scope
from .errors import DELETE, PlanError, PrincipalNotFoundError, raise_for_forbidden
from .grants import GrantResult, grant
from .principals import Resolver, resolve_principal
from .resolvers import resolving
from .roles import role_catalogue, role_guid

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

SEED_GROUPS = (
    ("admin", "Key Vault Administrator"),
    ("reader", "Key Vault Reader"),
    ("secAccess", "Key Vault Secrets User"),
    ("pipeline", "Key Vault Secrets User"),
)


@dataclass(frozen=True)
class PlannedAssignment:
    principal: str  # a group's display name (or any principal reference: object id, UPN, persona)
    role: str  # role name or GUID
    secret: str | None = None  # None: the whole vault

    def describe(self) -> str:
        return f"{self.principal} → {self.role} on " + (f"secret {self.secret}" if self.secret else "the vault")


@dataclass(frozen=True)
class GovernancePlan:
    assignments: tuple[PlannedAssignment, ...]
    allowed: tuple[PlannedAssignment, ...] = ()  # direct assignments tolerated, never created
    vault: str | None = None  # which vault the plan was written for (informational)

    @classmethod
    def from_dict(cls, data: dict) -> GovernancePlan:
        """From ``{"vault": …, "assignments": [{"principal", "role", "secret"?}], "allowed": [...]}``."""
        try:
            return cls(
                assignments=tuple(PlannedAssignment(**item) for item in data.get("assignments", ())),
                allowed=tuple(PlannedAssignment(**item) for item in data.get("allowed", ())),
                vault=data.get("vault"),
            )
        except TypeError as exc:
            raise PlanError(f"The plan is not readable: {exc}. Each entry needs 'principal' and 'role'.") from None

    @classmethod
    def from_file(cls, path: str) -> GovernancePlan:
        """From a JSON file in the `from_dict` shape; PlanError when it cannot be read."""
        import json
        from pathlib import Path

        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise PlanError(f"Cannot read the plan {path}: {exc}") from None

    def to_dict(self) -> dict:
        def entries(items):
            return [
                {"principal": a.principal, "role": a.role, **({"secret": a.secret} if a.secret else {})} for a in items
            ]

        return {"vault": self.vault, "assignments": entries(self.assignments), "allowed": entries(self.allowed)}


def seed_plan(vault: str = "azDevOpsKV01", *, lead: str | None = None) -> GovernancePlan:
    """The seed's structure: four groups named ``{vault}_{suffix}``; with *lead*, the lead's own direct
    administrator roles are allowed (the seed leaves them out: the audit flags them, so does the plan)."""
    allowed = (
        ()
        if lead is None
        else (
            PlannedAssignment(lead, "Key Vault Administrator"),
            PlannedAssignment(lead, "Key Vault Data Access Administrator"),
        )
    )
    return GovernancePlan(
        tuple(PlannedAssignment(f"{vault}_{suffix}", role) for suffix, role in SEED_GROUPS),
        allowed=allowed,
        vault=vault,
    )


@dataclass(frozen=True)
class DriftItem:
    kind: str  # missing | extra | bypass
    principal_id: str
    principal_name: str
    principal_type: str | None
    role_name: str
    secret: str | None = None
    assignment_id: str | None = None  # None for missing items

    def __str__(self) -> str:
        where = f"secret {self.secret}" if self.secret else "the vault"
        kind = self.principal_type or "principal"
        return f"{self.kind}: {self.principal_name} ({kind}) → {self.role_name} on {where}"


@dataclass(frozen=True)
class Drift:
    missing: tuple[DriftItem, ...] = ()
    extra: tuple[DriftItem, ...] = ()
    bypass: tuple[DriftItem, ...] = ()

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.bypass)

    def items(self) -> tuple[DriftItem, ...]:
        return self.missing + self.extra + self.bypass

    def summary(self) -> str:
        """``no drift``, ``1 drift item``, ``3 drift items``."""
        count = len(self.items())
        return "no drift" if not count else f"{count} drift item{'' if count == 1 else 's'}"

    def __str__(self) -> str:
        return "no drift" if self.clean else "\n".join(str(item) for item in self.items())

    def to_frame(self):
        import pandas as pd

        columns = ["kind", "principal_name", "principal_type", "role_name", "secret", "principal_id", "assignment_id"]
        return pd.DataFrame([{c: getattr(i, c) for c in columns} for i in self.items()], columns=columns)


@dataclass(frozen=True)
class PlanResult:
    created: tuple[GrantResult, ...]
    removed: tuple[str, ...]  # assignment ids
    drift_before: Drift
    drift: Drift = field(default_factory=Drift)  # after applying
    kept: tuple[DriftItem, ...] = ()  # the caller's own extra or bypass assignments, never removed

    @property
    def changed(self) -> bool:
        return bool(self.created or self.removed)


def _key(principal_id: str, role_id: str, secret: str | None) -> tuple:
    return principal_id.lower(), role_id.lower(), (secret or "").lower()


def check_plan(target: VaultTarget, plan: GovernancePlan, *, resolver: Resolver | None = None) -> Drift:
    """Compare the vault's own assignments (vault and secret scope) with *plan*.

    Needs ``Microsoft.Authorization/roleAssignments/read`` at the vault.

    :raises kvnb.errors.PermissionMissingError: the assignments could not be read.
    :raises kvnb.errors.PlanError: the plan names a role or principal that does not exist.
    """
    with resolving(target, resolver) as directory:
        return _check_plan(target, plan, directory)


def _check_plan(target: VaultTarget, plan: GovernancePlan, resolver: Resolver) -> Drift:
    vault = vault_scope(target)
    catalogue = role_catalogue(target, vault)

    def resolve(items):
        keyed = {}
        for item in items:
            try:
                who = resolve_principal(item.principal, resolver=resolver)
            except PrincipalNotFoundError:
                raise PlanError(
                    f"The plan names {item.principal!r}, which the directory does not know. Create the "
                    "group (or fix the name) and apply again."
                ) from None
            role = catalogue.resolve(item.role)
            keyed[_key(who.id, role.id, item.secret)] = (who, role, item)
        return keyed

    planned, allowed = resolve(plan.assignments), resolve(plan.allowed)
    actual = {}
    for assignment in fetch_assignments(target, vault):
        kind, _, secret = classify(assignment.scope, vault)
        if kind != "inherited":
            actual[_key(assignment.principal_id, role_guid(assignment.role_definition_id), secret)] = (
                assignment,
                secret,
            )
    names = resolver.lookup({key[0] for key in actual}) if actual else {}
    missing = tuple(
        DriftItem("missing", who.id, who.label, who.kind, role.name, item.secret)
        for key, (who, role, item) in planned.items()
        if key not in actual
    )
    extra, bypass = [], []
    for key, (assignment, secret) in actual.items():
        if key in planned or key in allowed:
            continue
        info = names.get(key[0])
        role = catalogue.by_id(assignment.role_definition_id)
        item = DriftItem(
            "extra" if assignment.principal_type == "Group" else "bypass",
            assignment.principal_id,
            info.label if info else assignment.principal_id,
            assignment.principal_type,
            role.name if role else key[1],
            secret,
            assignment.id,
        )
        (extra if item.kind == "extra" else bypass).append(item)
    return Drift(missing, tuple(extra), tuple(bypass))


def apply_plan(
    target: VaultTarget, plan: GovernancePlan, *, remove: bool = False, resolver: Resolver | None = None
) -> PlanResult:
    """Create the plan's missing assignments; with ``remove=True`` also delete extra and bypass ones.

    Needs ``Microsoft.Authorization/roleAssignments/read`` and ``roleAssignments/write`` at the vault
    (``/delete`` too with *remove*).

    :raises kvnb.errors.PermissionMissingError: ARM refused (403).
    :raises kvnb.errors.PlanError: the plan cannot be applied.
    """
    with resolving(target, resolver) as directory:
        return _apply_plan(target, plan, remove, directory)


def _apply_plan(target: VaultTarget, plan: GovernancePlan, remove: bool, resolver: Resolver) -> PlanResult:
    before = check_plan(target, plan, resolver=resolver)
    created = tuple(
        grant(target, item.principal_id, item.role_name, secret=item.secret, resolver=resolver)
        for item in before.missing
    )
    removed, kept = [], ()
    if remove:
        from azure.core.exceptions import HttpResponseError

        from .identity import whoami

        me = whoami(target).object_id.lower()
        kept = tuple(item for item in before.bypass if item.principal_id.lower() == me)
        client = target.authorization_client
        for item in before.extra + before.bypass:
            if item in kept:
                continue
            try:
                client.role_assignments.delete_by_id(item.assignment_id)
            except HttpResponseError as exc:
                raise_for_forbidden(exc, DELETE, item.assignment_id, target.name, role=item.role_name)
            removed.append(item.assignment_id)
    after = check_plan(target, plan, resolver=resolver) if (created or removed) else before
    return PlanResult(
        created=tuple(g for g in created if g.created),
        removed=tuple(removed),
        drift_before=before,
        drift=after,
        kept=kept,
    )
