"""``kvnb access review [GROUP]`` and ``kvnb access plan [FILE]``: are the vault's assignments what they should be?"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ._common import fail, note, output_option, show, vault_command

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

REVIEW_VIEW = ["group_name", "roles", "status", "reason", "last_completed", "next_due", "days_left"]
DECISION_VIEW = ["principal_name", "principal_type", "decision", "recommendation", "reviewed_by", "apply_result"]
DRIFT_VIEW = ["kind", "principal_name", "principal_type", "role_name", "secret"]


def register(access: click.Group) -> None:
    @vault_command(access, "review")
    @click.argument("group", nargs=-1, metavar="[GROUP]")
    @output_option
    def review(target: VaultTarget, group: tuple[str, ...], output: str) -> None:
        """Review status per group holding a role; with GROUP, the decisions of its open review
        (else of its last completed one)."""
        from kvnb.governance import latest_review_decisions, review_status

        if not group:
            show(review_status(target), output, REVIEW_VIEW if output == "table" else None)
            return
        name = " ".join(group)
        decisions, which = latest_review_decisions(target, name)
        note(f"Decisions of the {which} review of {name}:", output)
        show(decisions, output, DECISION_VIEW if output == "table" else None)

    @vault_command(access, "plan")
    @click.argument("file", required=False, metavar="[FILE]")
    @output_option
    def plan(target: VaultTarget, file: str | None, output: str) -> None:
        """Check the vault's assignments against a governance plan: FILE (JSON), else the seed's group
        convention. Exit code 1 when they drift from it."""
        from kvnb.access import GovernancePlan, check_plan, seed_plan

        chosen = GovernancePlan.from_file(file) if file else seed_plan(target.name)
        drift = check_plan(target, chosen)
        note(f"Governance plan for {target.name}: {drift.summary()}.", output)
        if output == "json" or not drift.clean:
            show(drift.to_frame(), output, DRIFT_VIEW if output == "table" else None)
        if not drift.clean:
            fail()
