"""What each tab shows: its columns, how cells read, and the text filter. Pure pandas, no widgets.

The audit's frames keep every column (exports use them); a tab shows the columns a person scans
first, with times as ``YYYY-MM-DD HH:MM`` (UTC, which also sorts correctly as text) and day counts
rounded. Nothing here ever holds a secret value: the audit reads metadata only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pandas as pd

from kvnb.audit.findings import ASSIGNMENTS, REVIEWS, SECRETS


@dataclass(frozen=True)
class TabSpec:
    key: str                    # the audit table's name ("findings" is built from the findings)
    title: str
    source: str | None          # the audit's source name when the caller may be refused it
    columns: tuple[str, ...]    # shown, in this order; the rest stay in exports and row details


TABS = (
    TabSpec("secrets", "Secrets", SECRETS, (
        "name", "enabled", "content_type", "last_rotated", "expires", "days_to_expiry", "version_count",
        "days_since_rotation", "created", "updated", "tags", "managed")),
    TabSpec("role_assignments", "Role assignments", ASSIGNMENTS, (
        "principal_name", "principal_type", "user_type", "account_enabled", "role", "privileged",
        "reads_secret_values", "scope_kind", "secret", "via_group", "group_member_count", "inherited_from",
        "end_time", "created_on")),
    TabSpec("reviews", "Reviews", REVIEWS, (
        "group", "roles", "status", "reason", "recurrence", "last_completed", "next_due", "days_since_review",
        "not_reviewed_share", "pending_denies", "auto_apply")),
    TabSpec("findings", "Findings", None, (
        "severity", "id", "title", "affected_count", "affected", "control", "remediation")),
)
TAB_KEYS = tuple(tab.key for tab in TABS)
_BY_KEY = {tab.key: tab for tab in TABS}


def tab_spec(key: str) -> TabSpec:
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ValueError(f"No tab {key!r}; the tabs are {', '.join(TAB_KEYS)}.") from None


def _cell_text(value) -> str:
    if isinstance(value, (list, tuple, set)):
        return ", ".join(map(str, value))
    if value is None or (not isinstance(value, (str, bool)) and pd.isna(value)):  # None, NaN, NaT, NA
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number_text(value, decimals: int = 2) -> str:
    if pd.isna(value):
        return ""
    return f"{value:.{decimals}f}" if isinstance(value, float) else str(value)


def _decimals(column: str) -> int:
    return 0 if "days" in column else 2   # whole days read best; shares keep their fraction


def display_frame(key: str, frame: pd.DataFrame) -> pd.DataFrame:
    """*frame* (an audit table) as its tab shows it: chosen columns, readable cells, blanks for none.

    Numbers become text so a missing one shows blank rather than "NaN"; DataTables still detects
    such a column as numeric and sorts it by value.
    """
    columns = [c for c in tab_spec(key).columns if c in frame.columns]
    shown = frame[columns].copy()
    for column in columns:
        series = shown[column]
        if pd.api.types.is_bool_dtype(series):
            continue  # true/false, never missing
        if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(series):
            shown[column] = series.dt.strftime("%Y-%m-%d %H:%M").astype(object).where(series.notna(), "")
        elif pd.api.types.is_numeric_dtype(series):
            shown[column] = series.astype(object).map(partial(_number_text, decimals=_decimals(column)))
        else:
            shown[column] = series.astype(object).map(_cell_text)
    return shown.reset_index(drop=True)


def row_details(row: pd.Series) -> list[tuple[str, str]]:
    """(column, readable text) for every column of an audit row, as the tables write cells."""
    details = []
    for column, value in row.items():
        if isinstance(value, pd.Timestamp):
            text = f"{value:%Y-%m-%d %H:%M} UTC"
        elif isinstance(value, float):
            text = _number_text(value, _decimals(str(column)))
        else:
            text = _cell_text(value)
        details.append((str(column), text))
    return details


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
