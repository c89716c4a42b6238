"""``%kvaccess approve ID`` and ``%kvaccess deny ID``: one module, as the two differ in the verb only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._parser import CmdParser, reason_option

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget


def _parser(verb: str) -> CmdParser:
    parser = CmdParser(verb, usage=f"{verb} ID [--reason TEXT]", description=f"{verb.capitalize()} access request ID.")
    parser.add_argument("request_id", metavar="ID", help="The request id, from `%%kvaccess requests`.")
    reason_option(parser, "Your justification, recorded with the decision.")
    return parser


APPROVE_PARSER = _parser("approve")
DENY_PARSER = _parser("deny")


def _show(decided) -> None:
    print(f"Request {decided.id}: {decided.state}" + (f" ({decided.status})" if decided.status else "") + ".")


def approve(target: VaultTarget, args) -> None:
    from kvnb.governance import approve_request

    _show(approve_request(target, args.request_id, justification=args.reason))


def deny(target: VaultTarget, args) -> None:
    from kvnb.governance import deny_request

    _show(deny_request(target, args.request_id, justification=args.reason))
