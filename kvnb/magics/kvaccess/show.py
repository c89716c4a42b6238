"""``%kvaccess [SECRET]``: who am I, what may I do on the vault (or one secret), and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._parser import CmdParser
from ._render import display_frame

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

PARSER = CmdParser(
    "",
    usage="[SECRET | SUBCOMMAND ...] [--vault V] [--persona NAME]",
    description="Your roles on the vault or SECRET, what they allow, and how to get more.",
    hint="%kvaccess takes one secret name or a subcommand (request, requests, approve, deny, grant, "
    "revoke, review, plan); --scope and --for go with `grant` (--scope also with `revoke`).",
)
PARSER.add_argument("secret", nargs="?", metavar="SECRET", help="One secret instead of the whole vault.")


def run(target: VaultTarget, args) -> None:
    from kvnb.access import effective_access, whoami
    from kvnb.access.advice import missing_access_advice
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
    for line in missing_access_advice(target, access, secret=secret):
        print(line)
