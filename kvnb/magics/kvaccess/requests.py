"""``%kvaccess requests``: the access requests waiting for your decision."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._parser import CmdParser
from ._render import REQUEST_VIEW, display_frame

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

PARSER = CmdParser("requests", usage="requests", description="Access requests you may approve or deny.")


def run(target: VaultTarget, args) -> None:
    from kvnb.governance import list_pending_approvals

    pending = list_pending_approvals(target)
    if pending.empty:
        print("No access request waits for your decision.")
        return
    display_frame(pending, REQUEST_VIEW)
