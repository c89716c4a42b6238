"""How ``%kvaccess`` shows DataFrames: whole, with the columns people read first (`kvnb.present`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

REQUEST_VIEW = ["request_id", "package", "requested_by", "justification", "state", "created"]
REVIEW_VIEW = ["group_name", "roles", "status", "reason", "last_completed", "next_due", "days_left"]
DRIFT_VIEW = ["kind", "principal_name", "principal_type", "role_name", "secret"]
DECISION_VIEW = ["principal_name", "principal_type", "decision", "recommendation", "reviewed_by", "apply_result"]


def display_frame(frame, columns: list[str] | None = None) -> None:
    """A DataFrame (*columns* of it, those it has), whole, as `kvnb.present` writes tables: HTML in a
    notebook, aligned text in a terminal; whole days, blanks for none, short UTC times, answer first."""
    from kvnb.present import display_table

    display_table(frame, columns)


def where(target: VaultTarget, secret: str | None) -> str:
    return f"secret {secret}" if secret else f"vault {target.name}"
