"""``%kvaccess revoke PRINCIPAL ROLE [--scope secret/NAME]``: remove a direct assignment."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._parser import CmdParser, scope_option, scoped_secret, words
from ._render import where

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

PARSER = CmdParser(
    "revoke",
    usage="revoke PRINCIPAL ROLE [--scope secret/NAME]",
    description="Remove PRINCIPAL's own assignments of ROLE (not those through groups or from above).",
    hint="--for goes with grant.",
)
PARSER.add_argument("principal", metavar="PRINCIPAL")
PARSER.add_argument("role", nargs="+", metavar="ROLE")
scope_option(PARSER)


def run(target: VaultTarget, args) -> None:
    from kvnb.access import revoke

    secret = scoped_secret(args.scope)
    done = revoke(target, args.principal, words(args.role), secret=secret)
    place = where(target, secret)
    if done.removed:
        print(
            f"Revoked {done.role.name} from {done.principal.label} on {place} "
            f"({len(done.removed)} assignment{'s' if len(done.removed) > 1 else ''})."
        )
    else:
        print(
            f"{done.principal.label} held no {done.role.name} assignment on {place} to revoke "
            "(roles through groups or from above are not touched)."
        )
