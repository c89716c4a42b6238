"""``%kvaccess review [GROUP]``: every role-holding group's review status, or one group's decisions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._parser import CmdParser, words
from ._render import DECISION_VIEW, REVIEW_VIEW, display_frame

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

PARSER = CmdParser(
    "review",
    usage="review [GROUP]",
    description="Review status per group holding a role; with GROUP, the decisions of its "
    "open review (else its last completed one).",
)
PARSER.add_argument("group", nargs="*", metavar="GROUP")


def run(target: VaultTarget, args) -> None:
    from kvnb.governance import latest_review_decisions, review_status

    if not args.group:
        display_frame(review_status(target), REVIEW_VIEW)
        return
    group = words(args.group)
    decisions, which = latest_review_decisions(target, group)
    print(f"Decisions of the {which} review of {group}:")
    display_frame(decisions, DECISION_VIEW)
