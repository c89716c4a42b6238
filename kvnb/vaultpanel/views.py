"""What each tab shows: its columns, how cells read, and the text filter. Pure pandas, no widgets.

The audit's frames keep every column (exports use them); a tab shows the columns a person scans
first, answer first, with cells as `kvnb.present` writes them everywhere (whole days, blanks for
none, ``2026-12-03 18:50Z``). Nothing here ever holds a secret value: the audit reads metadata only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from kvnb import present
from kvnb.audit.findings import ASSIGNMENTS, REVIEWS, SECRETS


@dataclass(frozen=True)
class TabSpec:
    key: str  # the audit table's name ("findings" is built from the findings)
    title: str
    source: str | None  # the audit's source name when the caller may be refused it
    columns: tuple[str, ...]  # shown, in this order; the rest stay in exports and row details


# Few enough columns to fit a notebook cell without scrolling sideways; the selected row's details
# show every column.
TABS = (
    TabSpec(
        "secrets",
        "Secrets",
        SECRETS,
        (
            "name",
            "enabled",
            "expires",
            "days_to_expiry",
            "last_rotated",
            "days_since_rotation",
            "version_count",
            "content_type",
            "tags",
        ),
    ),
    TabSpec(
        "role_assignments",
        "Role assignments",
        ASSIGNMENTS,
        (
            "principal_name",
            "role",
            "scope_kind",
            "via_group",
            "reads_secret_values",
            "principal_type",
            "privileged",
            "end_time",
        ),
    ),
    TabSpec(
        "reviews",
        "Reviews",
        REVIEWS,
        (
            "group",
            "roles",
            "status",
            "reason",
            "last_completed",
            "next_due",
            "days_since_review",
            "not_reviewed_share",
            "pending_denies",
        ),
    ),
    TabSpec(
        "findings",
        "Findings",
        None,
        ("severity", "id", "title", "affected_count", "affected", "control", "remediation"),
    ),
)
TAB_KEYS = tuple(tab.key for tab in TABS)
_BY_KEY = {tab.key: tab for tab in TABS}
# Headers as a person says them; the audit's column names stay in exports.
HEADERS = {
    "principal_name": "principal",
    "principal_type": "type",
    "scope_kind": "scope",
    "via_group": "via",
    "reads_secret_values": "reads values",
    "days_to_expiry": "days left",
    "days_since_rotation": "days since rotation",
    "version_count": "versions",
    "days_since_review": "days since review",
    "not_reviewed_share": "not reviewed",
    "affected_count": "affected #",
    "account_enabled": "enabled account",
}


def tab_spec(key: str) -> TabSpec:
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ValueError(f"No tab {key!r}; the tabs are {', '.join(TAB_KEYS)}.") from None


def shown_columns(key: str, frame: pd.DataFrame) -> list[str]:
    """The audit columns *key*'s tab shows, in the order it shows them."""
    return present.answer_first(c for c in tab_spec(key).columns if c in frame.columns)


def display_frame(key: str, frame: pd.DataFrame) -> pd.DataFrame:
    """*frame* (an audit table) as its tab shows it: chosen columns, readable cells, blanks for none.

    Numbers become text so a missing one shows blank rather than "NaN"; DataTables still sorts
    such a column by value (`table.column_types`).
    """
    columns = shown_columns(key, frame)
    frame = frame.reset_index(drop=True)
    if key == "role_assignments":
        frame = _folded_assignments(frame)
    shown = present.readable(frame, columns, reorder=False)
    return shown.rename(columns=lambda c: HEADERS.get(c, c.replace("_", " ")))


def _folded_assignments(frame: pd.DataFrame) -> pd.DataFrame:
    """Two facts per column, so the tab fits: scope ``secret/APICaller``, type ``User (guest, disabled)``."""
    folded = frame.copy()
    if "secret" in frame:
        folded["scope_kind"] = [
            f"{kind}/{secret}" if isinstance(secret, str) and secret else kind
            for kind, secret in zip(frame["scope_kind"], frame["secret"])
        ]
    if {"user_type", "account_enabled"} <= set(frame.columns):
        notes = [
            [note for note, applies in (("guest", user_type == "Guest"), ("disabled", enabled is False)) if applies]
            for user_type, enabled in zip(frame["user_type"], frame["account_enabled"])
        ]
        folded["principal_type"] = [
            f"{kind} ({', '.join(n)})" if n and isinstance(kind, str) else kind
            for kind, n in zip(frame["principal_type"], notes)
        ]
    return folded


def row_details(row: pd.Series) -> list[tuple[str, str]]:
    """(column, readable text) for every column of an audit row, ids in full."""
    return [(str(column), present.cell_text(value, str(column), shorten=False)) for column, value in row.items()]


def row_text(shown: pd.DataFrame) -> pd.Series:
    """One lower-case line per row, all its shown cells joined: what the filter searches."""
    if shown.empty:
        return pd.Series([], dtype=object, index=shown.index)
    text = shown.astype(object).where(shown.notna(), "").astype(str)
    return text.agg(" \u2502 ".join, axis=1).str.lower()


def matching(haystack: pd.Series, query: str) -> pd.Series:
    """A boolean mask: rows whose shown text contains every word of *query* (any case, any order)."""
    words = query.lower().split()
    mask = pd.Series(True, index=haystack.index)
    for word in words:
        mask &= haystack.str.contains(word, regex=False)
    return mask
