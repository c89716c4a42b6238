"""Two small inline SVG pictures for the HTML report and the panel: no plotting library needed.

* `expiry_timeline_svg`: one line per secret from its last rotation to its expiry, with today
  marked, so expired, soon-expiring and never-expiring secrets stand out.
* `review_status_svg`: a bar per review status (ok, due, in_progress, not_applied, overdue, no_review).

Every text is XML-escaped; secret names are metadata, never values.
"""

from __future__ import annotations

from html import escape

import pandas as pd

TIMELINE_MAX_ROWS = 60  # the most urgent secrets; a 5,000-row picture informs nobody
STATUS_ORDER = ("ok", "due", "in_progress", "not_applied", "overdue", "no_review")
STATUS_COLOURS = {
    "ok": "#2e7d32",
    "due": "#f9a825",
    "in_progress": "#0277bd",
    "not_applied": "#ef6c00",
    "overdue": "#c62828",
    "no_review": "#6d4c41",
}
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'
_LEGEND = (
    ("expired", "#c62828"),
    ("expires soon", "#f9a825"),
    ("valid", "#2e7d32"),
    ("no expiry", "#6d4c41"),
    ("disabled", "#9e9e9e"),
)


def _urgency(secrets: pd.DataFrame) -> pd.DataFrame:
    """Expired and soon-expiring first, then no expiry (oldest rotation first), then the rest."""
    frame = secrets.copy()
    frame["_no_expiry"] = frame["expires"].isna()
    return frame.sort_values(
        ["_no_expiry", "days_to_expiry", "days_since_rotation"], ascending=[True, True, False]
    ).head(TIMELINE_MAX_ROWS)


def expiry_timeline_svg(
    secrets: pd.DataFrame | None, *, now: pd.Timestamp | None = None, warning_days: int = 30
) -> str:
    if secrets is None or secrets.empty:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="420" height="30"><text x="4" y="20" '
            f"{_FONT}>No secrets to show.</text></svg>"
        )
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    rows = _urgency(secrets)
    starts = rows["last_rotated"].dropna()
    ends = rows["expires"].dropna()
    lo = min([now] + list(starts))
    hi = max([now + pd.Timedelta(days=30)] + list(ends))
    span = max((hi - lo) / pd.Timedelta(days=1), 1.0)
    label_w, plot_w, row_h, top = 190, 520, 16, 28
    height = top + row_h * len(rows) + 42

    def x(when) -> float:
        return label_w + plot_w * ((when - lo) / pd.Timedelta(days=1)) / span

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 20}" height="{height}" '
        f'role="img" aria-label="Secret expiry and last rotation">',
        f'<text x="4" y="14" {_FONT} font-weight="bold">Secrets: last rotation (dot) to expiry (bar end); '
        f"{len(rows)} of {len(secrets)} most urgent</text>",
    ]
    for index, row in enumerate(rows.itertuples()):
        y = top + index * row_h
        start = row.last_rotated if not pd.isna(row.last_rotated) else lo
        expired = not pd.isna(row.expires) and row.expires < now
        soon = not pd.isna(row.expires) and not expired and row.days_to_expiry < warning_days
        colour = (
            "#9e9e9e"
            if not row.enabled
            else "#c62828"
            if expired
            else "#f9a825"
            if soon
            else "#6d4c41"
            if pd.isna(row.expires)
            else "#2e7d32"
        )
        end_x = x(row.expires) if not pd.isna(row.expires) else label_w + plot_w
        dash = ' stroke-dasharray="4 3"' if pd.isna(row.expires) else ""
        note = "no expiry" if pd.isna(row.expires) else f"expires {row.expires:%Y-%m-%d}"
        parts.append(f'<text x="{label_w - 6}" y="{y + 11}" text-anchor="end" {_FONT}>{escape(str(row.name))}</text>')
        parts.append(
            f'<line x1="{x(start):.1f}" y1="{y + 7}" x2="{end_x:.1f}" y2="{y + 7}" stroke="{colour}" '
            f'stroke-width="5"{dash}><title>{escape(str(row.name))}: rotated {start:%Y-%m-%d}, '
            f"{note}</title></line>"
        )
        parts.append(f'<circle cx="{x(start):.1f}" cy="{y + 7}" r="3.5" fill="#37474f"/>')
    now_x = x(now)
    axis = height - 24
    parts.append(
        f'<line x1="{now_x:.1f}" y1="{top - 6}" x2="{now_x:.1f}" y2="{axis - 12}" stroke="#000" '
        'stroke-dasharray="2 2"/>'
    )
    parts.append(f'<text x="{now_x:.1f}" y="{axis}" text-anchor="middle" {_FONT}>today</text>')
    parts.append(f'<text x="{label_w}" y="{axis}" {_FONT}>{lo:%Y-%m-%d}</text>')
    parts.append(f'<text x="{label_w + plot_w}" y="{axis}" text-anchor="end" {_FONT}>{hi:%Y-%m-%d}</text>')
    for index, (label, colour) in enumerate(_LEGEND):
        x0 = label_w + index * 105
        parts.append(
            f'<rect x="{x0}" y="{height - 13}" width="12" height="6" fill="{colour}"/>'
            f'<text x="{x0 + 16}" y="{height - 6}" {_FONT}>{label}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def review_status_svg(reviews: pd.DataFrame | None) -> str:
    if reviews is None or reviews.empty:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="420" height="30"><text x="4" y="20" '
            f"{_FONT}>No groups hold a role on this vault.</text></svg>"
        )
    counts = reviews["status"].value_counts()
    statuses = list(STATUS_ORDER) + sorted(set(counts.index) - set(STATUS_ORDER))
    most = max(int(counts.max()), 1)
    bar_w, gap, plot_h, top = 56, 14, 120, 34
    width = 20 + len(statuses) * (bar_w + gap)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + plot_h + 40}" role="img" '
        'aria-label="Review status of the groups holding a Key Vault role">',
        f'<text x="4" y="14" {_FONT} font-weight="bold">Groups by 60-day review status</text>',
    ]
    for index, status in enumerate(statuses):
        count = int(counts.get(status, 0))
        h = plot_h * count / most
        x = 10 + index * (bar_w + gap)
        groups = ", ".join(reviews.loc[reviews["status"] == status, "group"].astype(str))
        parts.append(
            f'<rect x="{x}" y="{top + plot_h - h:.1f}" width="{bar_w}" height="{h:.1f}" '
            f'fill="{STATUS_COLOURS.get(status, "#607d8b")}"><title>{escape(status)}: {escape(groups)}'
            "</title></rect>"
        )
        parts.append(
            f'<text x="{x + bar_w / 2}" y="{top + plot_h - h - 3:.1f}" text-anchor="middle" {_FONT}>{count}</text>'
        )
        parts.append(
            f'<text x="{x + bar_w / 2}" y="{top + plot_h + 14}" text-anchor="middle" {_FONT}>{escape(status)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
