"""``%kvaccess request ROLE|PACKAGE --reason WHY``: ask for an access package."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._parser import CmdParser, CommandUsageError, reason_option, words

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

PARSER = CmdParser("request", usage="request ROLE|PACKAGE --reason WHY",
                   description="Request the access package that grants ROLE on the vault, or PACKAGE by name.",
                   hint="--for does not apply to requests: the access package's policy sets how long.")
PARSER.add_argument("wanted", nargs="+", metavar="ROLE|PACKAGE")
reason_option(PARSER, "Why you need it (the approver reads it).")


def run(target: VaultTarget, args) -> None:
    from kvnb.governance import request_access

    if not args.reason:
        raise CommandUsageError("Say why you need it: --reason 'partner API client' (the approver reads it).")
    made = request_access(target, justification=args.reason, **_role_or_package(target, words(args.wanted)))
    print(f"Requested {made.package_name} (request {made.id}, {made.state}). "
          "Its approvers see it with `%kvaccess requests`.")


def _role_or_package(target: VaultTarget, wanted: str) -> dict:
    """``package=`` when *wanted* names an access package (anyone may list them), else ``role=``.

    Finding a package by role needs the vault's role assignments, which someone without any
    access (the AzureAD team) may not read; by name it needs only the package list.
    """
    from kvnb.governance import get_access_packages

    folded = wanted.casefold()
    for package in get_access_packages(target):
        if folded in (package.display_name.casefold(), package.display_name.split(" (")[0].casefold()):
            return {"package": package.display_name}
    return {"role": wanted}
