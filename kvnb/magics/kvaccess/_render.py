"""How ``%kvaccess`` shows DataFrames: whole, with the columns people read first."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

REQUEST_VIEW = ["request_id", "package", "requested_by", "justification", "state", "created"]
REVIEW_VIEW = ["group_name", "roles", "status", "reason", "last_completed", "next_due", "days_left"]
DRIFT_VIEW = ["kind", "principal_name", "principal_type", "role_name", "secret"]
DECISION_VIEW = ["principal_name", "principal_type", "decision", "recommendation", "reviewed_by", "apply_result"]


def display_frame(frame, columns: list[str] | None = None) -> None:
    """A DataFrame (*columns* of it, those it has), whole: rich HTML in a notebook, every column in a terminal."""
    import pandas as pd
    from IPython.display import display

    if columns is not None:
        frame = frame[[c for c in columns if c in frame.columns]]
    with pd.option_context("display.max_columns", None, "display.width", 250, "display.max_colwidth", 60):
        display(frame)


def where(target: VaultTarget, secret: str | None) -> str:
    return f"secret {secret}" if secret else f"vault {target.name}"
