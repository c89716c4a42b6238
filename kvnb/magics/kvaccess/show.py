"""``%kvaccess [SECRET]``: who am I, what may I do on the vault (or one secret), and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kvnb.permissions import role_for_operation

from ._parser import CmdParser
from ._render import display_frame

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

PARSER = CmdParser("", usage="[SECRET | SUBCOMMAND ...] [--vault V] [--persona NAME]",
                   description="Your roles on the vault or SECRET, what they allow, and how to get more.",
                   hint="%kvaccess takes one secret name or a subcommand (request, requests, approve, deny, grant, "
                        "revoke, review, plan); --scope and --for go with `grant` (--scope also with `revoke`).")
PARSER.add_argument("secret", nargs="?", metavar="SECRET", help="One secret instead of the whole vault.")


def run(target: VaultTarget, args) -> None:
    from kvnb.access import effective_access, whoami
    from kvnb.fetch import check_name

    secret = args.secret
    if secret is not None:
        check_name(secret)
    me = whoami(target)
    access = effective_access(target, secret=secret)
    where = f"secret {secret} in {target.name}" if secret else f"vault {target.name}"
    print(f"You are {me.name} ({me.kind}, object id {me.object_id}) in tenant {me.tenant_id}.")
    print(f"Your roles on {where}:" if access.roles else f"You hold no role on {where}.")
    for role in access.roles:
        print(f"  {role.role_name or role.role_id}: {role.how}")
    for note in access.notes:
        print(f"Note: {note}")
    display_frame(access.to_frame())
    for line in missing_access_advice(target, access):
        print(line)


def missing_access_advice(target: VaultTarget, access) -> list[str]:
    """For each role you lack: which operations it would allow and which access package gives it."""
    from kvnb.governance import access_package_name

    lacking: dict[str, list[str]] = {}
    for operation, allowed in access.operations.items():
        if not allowed:
            lacking.setdefault(role_for_operation(operation), []).append(operation)
    if not lacking:
        return []
    held_names = [r.role_name or r.role_id for r in access.roles]
    lines = [f"Why not: none of your roles ({', '.join(held_names) or 'none'}) allows them where Key Vault "
             "checks them (listing on the vault, the rest on the secret)."]
    for role, operations in lacking.items():
        if role in held_names:
            lines.append(f"To {', '.join(operations)}: you hold {role}, but not on the whole vault; ask for it there.")
            continue
        package = access_package_name(target, role)
        how = (f"request the access package {package}: `%kvaccess request {role} --reason WHY`" if package
               else "no access package grants it; ask the vault's owner for a grant")
        lines.append(f"To {', '.join(operations)}: you need {role}; {how}.")
    return lines
