"""The panel's summary line: counts by status for each table, from the audit's frames."""

from __future__ import annotations

import pandas as pd

from kvnb.audit.charts import STATUS_ORDER

_SEVERITIES = ("high", "medium", "low", "info", "not checked")


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def secrets_summary(secrets: pd.DataFrame, *, now: pd.Timestamp, warning_days: int) -> str:
    expires = secrets["expires"]
    expired = int((expires < now).sum())
    soon = int(((expires >= now) & (expires < now + pd.Timedelta(days=warning_days))).sum())
    parts = [
        f"{int(secrets['enabled'].sum()):,} enabled",
        f"{int((~secrets['enabled']).sum()):,} disabled",
        f"{expired:,} expired",
        f"{soon:,} expiring within {warning_days} d",
        f"{int(expires.isna().sum()):,} without expiry",
    ]
    counted = int(secrets["version_count"].notna().sum())
    if counted < len(secrets):
        parts.append(f"versions counted {counted:,}/{len(secrets):,}")
    return f"{_plural(len(secrets), 'secret')} ({', '.join(parts)})"


def assignments_summary(assignments: pd.DataFrame) -> str:
    direct = assignments[assignments["via_group"].isna()]
    principals = assignments["principal_id"].nunique()
    guests = int((assignments.drop_duplicates("principal_id")["user_type"] == "Guest").sum())
    disabled = int((assignments.drop_duplicates("principal_id")["account_enabled"] == False).sum())  # noqa: E712
    return (
        f"{_plural(len(direct), 'role assignment')} ({principals:,} principals with access, "
        f"{guests:,} guest, {disabled:,} disabled)"
    )


def reviews_summary(reviews: pd.DataFrame) -> str:
    counts = reviews["status"].value_counts()
    statuses = [s for s in STATUS_ORDER if counts.get(s, 0)] + sorted(set(counts.index) - set(STATUS_ORDER))
    detail = ", ".join(f"{int(counts[s])} {s}" for s in statuses)
    return f"reviews of {_plural(len(reviews), 'group')}" + (f" ({detail})" if detail else "")


def findings_summary(findings: pd.DataFrame) -> str:
    counts = findings["severity"].value_counts()
    detail = ", ".join(f"{int(counts[s])} {s}" for s in _SEVERITIES if counts.get(s, 0))
    return "findings: " + (detail or "none")


def summary_line(frames: dict, *, now: pd.Timestamp, warning_days: int) -> str:
    """One line: each table that exists so far, counted by status; ``frames`` maps tab key → frame."""
    parts = []
    builders = (
        ("secrets", lambda f: secrets_summary(f, now=now, warning_days=warning_days)),
        ("role_assignments", assignments_summary),
        ("reviews", reviews_summary),
        ("findings", findings_summary),
    )
    for key, build in builders:
        frame = frames.get(key)
        if frame is not None:
            parts.append(build(frame))
    return " · ".join(parts)
