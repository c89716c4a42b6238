"""What to do about the operations you may not perform: which role allows them and how to get it.

Used by ``%kvaccess`` and ``kvnb access whoami/check`` alike; the commands it suggests are spelled
for the surface in use (`kvnb.surface`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kvnb.permissions import VAULT_LEVEL_OPERATIONS, role_for_operation
from kvnb.surface import Placeholder, access_command

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

    from .effective import EffectiveAccess

__all__ = ["missing_access_advice"]


def missing_access_advice(target: VaultTarget, access: EffectiveAccess, *, secret: str | None = None) -> list[str]:
    """For each role you lack: which operations it would allow and which access package gives it.

    Key Vault checks listing (and restore) against the vault and everything else against the secret,
    so on one *secret* a role held there does not allow listing; the advice says so when it matters.
    """
    from kvnb.governance import access_package_name

    lacking: dict[str, list[str]] = {}
    for operation, allowed in access.operations.items():
        if not allowed:
            lacking.setdefault(role_for_operation(operation), []).append(operation)
    if not lacking:
        return []
    held_names = [r.role_name or r.role_id for r in access.roles]
    if not held_names:
        lines = [f"Why not: you hold no role on {'secret ' + secret if secret else 'the vault'}."]
    else:
        lines = [f"Why not: your roles ({', '.join(held_names)}) do not allow these operations."]
    if secret and any(op in VAULT_LEVEL_OPERATIONS for ops in lacking.values() for op in ops):
        lines.append("Listing is checked on the whole vault, so a role on one secret never allows it.")
    for role, operations in lacking.items():
        if role in held_names:
            lines.append(f"To {', '.join(operations)}: you hold {role}, but not on the whole vault; ask for it there.")
            continue
        package = access_package_name(target, role)
        how = (
            f"request the access package {package}: `{access_command('request', role, reason=Placeholder('WHY'))}`"
            if package
            else "no access package grants it; ask the vault's owner for a grant"
        )
        lines.append(f"To {', '.join(operations)}: you need {role}; {how}.")
    return lines
