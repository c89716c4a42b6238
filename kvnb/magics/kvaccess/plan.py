"""``%kvaccess plan [FILE]``: drift between the vault and a plan (the seed's group convention, or a JSON file)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._parser import CmdParser
from ._render import DRIFT_VIEW, display_frame

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

PARSER = CmdParser(
    "plan",
    usage="plan [FILE]",
    description="Check the vault's assignments against a governance plan: FILE (JSON), "
    "else the seed's group convention.",
)
PARSER.add_argument("file", nargs="?", metavar="FILE")


def run(target: VaultTarget, args) -> None:
    from kvnb.access import GovernancePlan, check_plan, seed_plan

    chosen = GovernancePlan.from_file(args.file) if args.file else seed_plan(target.name)
    drift = check_plan(target, chosen)
    print(f"Governance plan for {target.name}: {drift.summary()}.")
    if not drift.clean:
        display_frame(drift.to_frame(), DRIFT_VIEW)
