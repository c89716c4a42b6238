"""Errors of the access layer: one short message naming the missing permission and how to get it.

::

    KvnbError (kvnb.errors)
    └── AccessError                  anything about roles and assignments a user can fix
        ├── PermissionMissingError   ARM said 403: ``.action``, ``.scope``, ``.roles`` that would allow it
        ├── PrincipalNotFoundError   no user, group or service principal matches the reference
        ├── RoleNotFoundError        no role definition has that name or GUID
        └── PlanError                a governance plan that cannot be read or applied
"""

from __future__ import annotations

from kvnb.errors import KvnbError

READ = "Microsoft.Authorization/roleAssignments/read"
WRITE = "Microsoft.Authorization/roleAssignments/write"
DELETE = "Microsoft.Authorization/roleAssignments/delete"

# What to ask for, per action: roles that grant it (least privileged first) and the sentence to say.
_ADVICE = {
    READ: (("Key Vault Reader", "Reader", "Key Vault Data Access Administrator", "Owner"),
           "read role assignments", "Ask the vault's owner for Key Vault Reader on the vault."),
    WRITE: (("Key Vault Data Access Administrator", "User Access Administrator", "Owner"),
            "grant roles", "Ask the vault's owner for Key Vault Data Access Administrator on the vault "
            "(Key Vault Administrator is not enough: it cannot manage role assignments)."),
    DELETE: (("Key Vault Data Access Administrator", "User Access Administrator", "Owner"),
             "remove role assignments", "Ask the vault's owner for Key Vault Data Access Administrator on the vault."),
}


class AccessError(KvnbError):
    """A role or assignment problem the user can fix."""


class PermissionMissingError(AccessError):
    """The caller lacks an ARM permission at a scope."""

    def __init__(self, message: str, *, action: str, scope: str, roles: tuple[str, ...] = ()):
        super().__init__(message)
        self.action, self.scope, self.roles = action, scope, roles


class PrincipalNotFoundError(AccessError):
    """No principal matches the given object id, user principal name, display name or persona."""


class RoleNotFoundError(AccessError):
    """No role definition matches the given name or GUID."""


class PlanError(AccessError):
    """A governance plan that cannot be read or applied."""


def permission_missing(action: str, scope: str, where: str, *, role: str | None = None) -> PermissionMissingError:
    """The one-line explanation for a 403 on *action* at *scope* (*where* names it for people)."""
    roles, verb, advice = _ADVICE.get(action, ((), f"perform {action}", "Ask the vault's owner for access."))
    text = f"You may not {verb} on {where}: that needs {action} there."
    if action == WRITE and role and not role.startswith("Key Vault"):
        text += f" A Key Vault Data Access Administrator may assign Key Vault roles only, not {role}."
    return PermissionMissingError(f"{text} {advice}", action=action, scope=scope, roles=roles)


def raise_for_forbidden(exc, action: str, scope: str, where: str, *, role: str | None = None) -> None:
    """Turn an azure-core 403 into `PermissionMissingError`; anything else propagates unchanged."""
    if getattr(exc, "status_code", None) == 403:
        raise permission_missing(action, scope, where, role=role) from None
    raise exc
