"""``%kvaccess request ROLE|PACKAGE --reason WHY``: ask for an access package."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._parser import CmdParser, CommandUsageError, reason_option, words

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

PARSER = CmdParser(
    "request",
    usage="request ROLE|PACKAGE --reason WHY",
    description="Request the access package that grants ROLE on the vault, or PACKAGE by name.",
    hint="--for does not apply to requests: the access package's policy sets how long.",
)
PARSER.add_argument("wanted", nargs="+", metavar="ROLE|PACKAGE")
reason_option(PARSER, "Why you need it (the approver reads it).")


def run(target: VaultTarget, args) -> None:
    from kvnb.governance import package_or_role, request_access

    if not args.reason:
        raise CommandUsageError("Say why you need it: --reason 'partner API client' (the approver reads it).")
    made = request_access(target, justification=args.reason, **package_or_role(target, words(args.wanted)))
    print(
        f"Requested {made.package_name} (request {made.id}, {made.state}). "
        "Its approvers see it with `%kvaccess requests`."
    )
