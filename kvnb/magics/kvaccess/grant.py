"""``%kvaccess grant PRINCIPAL ROLE [--scope secret/NAME] [--for DURATION]``: give a role, maybe for a while."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._parser import CmdParser, reason_option, scope_option, scoped_secret, words
from ._render import where

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

PARSER = CmdParser(
    "grant",
    usage="grant PRINCIPAL ROLE [--scope secret/NAME] [--for DURATION]",
    description="Assign ROLE to PRINCIPAL (object id, user principal name, group name or persona).",
)
PARSER.add_argument("principal", metavar="PRINCIPAL")
PARSER.add_argument("role", nargs="+", metavar="ROLE")
scope_option(PARSER)
PARSER.add_argument("--for", dest="for_", metavar="DURATION", help="Time-bound, e.g. 61m, 8h, 60d.")
reason_option(PARSER, "The justification, recorded with a time-bound grant.")


def run(target: VaultTarget, args) -> None:
    from kvnb.access import grant

    secret = scoped_secret(args.scope)
    made = grant(target, args.principal, words(args.role), secret=secret, duration=args.for_, justification=args.reason)
    until = f" until {made.end_time:%Y-%m-%d %H:%M} UTC" if made.end_time else ""
    verb = "Granted" if made.created else "Already granted:"
    print(f"{verb} {made.role.name} to {made.principal.label} on {where(target, secret)}{until}.")
