"""How the access layer explains ARM's 403s: one short message naming the missing permission and how to get it.

The error types (`AccessError` and its subclasses) live in `kvnb.errors` with the rest of the tree;
they are re-exported here for the access layer's modules.
"""

from __future__ import annotations

from kvnb.errors import AccessError, PermissionMissingError, PlanError, PrincipalNotFoundError, RoleNotFoundError

READ = "Microsoft.Authorization/roleAssignments/read"
WRITE = "Microsoft.Authorization/roleAssignments/write"
DELETE = "Microsoft.Authorization/roleAssignments/delete"

# What to ask for, per action: roles that grant it (least privileged first) and the sentence to say.
_ADVICE = {
    READ: (
        ("Key Vault Reader", "Reader", "Key Vault Data Access Administrator", "Owner"),
        "read role assignments",
        "Ask the vault's owner for Key Vault Reader on the vault.",
    ),
    WRITE: (
        ("Key Vault Data Access Administrator", "User Access Administrator", "Owner"),
        "grant roles",
        "Ask the vault's owner for Key Vault Data Access Administrator on the vault "
        "(Key Vault Administrator is not enough: it cannot manage role assignments).",
    ),
    DELETE: (
        ("Key Vault Data Access Administrator", "User Access Administrator", "Owner"),
        "remove role assignments",
        "Ask the vault's owner for Key Vault Data Access Administrator on the vault.",
    ),
}


def permission_missing(action: str, scope: str, where: str, *, role: str | None = None) -> PermissionMissingError:
    """The one-line explanation for a 403 on *action* at *scope* (*where* names it for people)."""
    roles, verb, advice = _ADVICE.get(action, ((), f"perform {action}", "Ask the vault's owner for access."))
    text = f"You may not {verb} on {where}: that needs {action} there."
    if action == WRITE and role and not role.startswith("Key Vault"):
        text += f" A Key Vault Data Access Administrator may assign Key Vault roles only, not {role}."
    return PermissionMissingError(
        f"{text} {advice}", action=action, scope=scope, roles=roles, reason=text, advice=advice
    )


def raise_for_forbidden(exc, action: str, scope: str, where: str, *, role: str | None = None) -> None:
    """Turn an azure-core 403 into `PermissionMissingError`; anything else propagates unchanged."""
    if getattr(exc, "status_code", None) == 403:
        raise permission_missing(action, scope, where, role=role) from None
    raise exc


__all__ = [
    "DELETE",
    "READ",
    "WRITE",
    "AccessError",
    "PermissionMissingError",
    "PlanError",
    "PrincipalNotFoundError",
    "RoleNotFoundError",
    "permission_missing",
    "raise_for_forbidden",
]
