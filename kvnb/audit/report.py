"""Render audits: a terminal table, JSON, CSV, HTML (with two inline SVG pictures) and Markdown.

JSON: ``{"vaults": [{"name", "url", "tables": {...}, "findings": [...], "limitations": [...]}],
"generated_at", "identity"}``. CSV: the findings of every vault (one row each, limitations as rows
marked ``not checked``); `write_csv_tables` writes every table as its own file. The inputs hold
metadata only, so no output can contain a secret value.
"""

from __future__ import annotations

import io
import json
import textwrap
from collections.abc import Sequence
from datetime import datetime, timezone
from html import escape
from pathlib import Path

import pandas as pd

from ..present import TABLE_CSS, html_table, terminal_width
from .charts import expiry_timeline_svg, review_status_svg
from .findings import AuditSettings, findings_table, severity_counts

FORMATS = ("table", "json", "csv", "html", "markdown")
_TABLE_NAMES = ("secrets", "role_assignments", "reviews", "vault")


def _stamp(generated_at: datetime | None) -> str:
    return (generated_at or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")


def _records(frame: pd.DataFrame | None) -> list[dict] | None:
    if frame is None:
        return None
    return json.loads(frame.to_json(orient="records", date_format="iso", date_unit="s"))


def to_document(audits: Sequence, *, identity: str | None = None, generated_at: datetime | None = None) -> dict:
    """The JSON document (a dict) for *audits* (`VaultAudit` objects)."""
    vaults = []
    for audit in audits:
        tables = audit.tables.as_dict()
        vaults.append(
            {
                "name": audit.name,
                "url": audit.url,
                "tables": {name: _records(tables[name]) for name in _TABLE_NAMES},
                "findings": [finding.to_dict() for finding in audit.findings],
                "limitations": [limitation.to_dict() for limitation in audit.limitations],
                "summary": dict(severity_counts(audit.findings)),
            }
        )
    return {"vaults": vaults, "generated_at": _stamp(generated_at), "identity": identity}


def render_json(audits: Sequence, **kwargs) -> str:
    return json.dumps(to_document(audits, **kwargs), indent=2, ensure_ascii=False)


def _findings_frame(audits: Sequence) -> pd.DataFrame:
    frames = []
    for audit in audits:
        frame = findings_table(audit.findings, audit.limitations)
        frame.insert(0, "vault", audit.name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else findings_table([])


def render_csv(audits: Sequence, **_) -> str:
    return _findings_frame(audits).to_csv(index=False)


def write_csv_tables(audits: Sequence, directory: Path) -> list[Path]:
    """One CSV per vault and table (``<vault>_<table>.csv``) plus ``findings.csv``; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for audit in audits:
        for name, frame in audit.tables.as_dict().items():
            if frame is not None:
                path = directory / f"{audit.name}_{name}.csv"
                frame.to_csv(path, index=False)
                written.append(path)
    path = directory / "findings.csv"
    path.write_text(render_csv(audits))
    return written + [path]


def _summary_line(audit) -> str:
    counts = severity_counts(audit.findings)
    secrets = audit.tables.secrets
    parts = [f"{counts[s]} {s}" for s in ("high", "medium", "low", "info") if counts[s]]
    listed = f"{len(secrets)} secrets" if secrets is not None else "secrets not visible"
    return f"{audit.name} ({audit.url}): {listed}; findings: {', '.join(parts) or 'none'}"


_INDENT = " " * 21


def render_table(audits: Sequence, *, identity: str | None = None, width: int | None = None, **_) -> str:
    """Findings per vault for a terminal; long lines (Azure Policy ids) wrap under their own column."""
    width = width or min(terminal_width(), 160)  # lines of prose: 160 characters at most
    out = io.StringIO()

    def line(first: str, text: str, rest: str = _INDENT) -> None:
        out.write(
            textwrap.fill(
                text,
                width,
                initial_indent=first,
                subsequent_indent=rest,
                break_on_hyphens=False,
                break_long_words=False,
            )
            + "\n"
        )

    if identity:
        out.write(f"Audited as {identity}\n")
    for audit in audits:
        out.write("\n")
        line("", _summary_line(audit), "  ")
        frame = findings_table(audit.findings, audit.limitations)
        if frame.empty:
            out.write("  No findings.\n")
            continue
        for row in frame.itertuples():
            line(f"  [{row.severity:>11}] {row.id:<4} ", row.title)
            if row.severity == "not checked":
                line(_INDENT, row.remediation)
                continue
            for item in row.affected.split("; ")[:8]:
                line(_INDENT + "- ", item, _INDENT + "  ")
            if row.affected_count > 8:
                out.write(f"{_INDENT}… and {row.affected_count - 8} more\n")
            line(_INDENT + "fix: ", row.remediation, _INDENT + "     ")
            if row.control:
                line(_INDENT + "see: ", row.control, _INDENT + "     ")
    return out.getvalue()


def _markdown_cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(audits: Sequence, *, identity: str | None = None, generated_at: datetime | None = None, **_) -> str:
    lines = ["# Key Vault audit", "", f"Generated {_stamp(generated_at)}" + (f" as {identity}." if identity else ".")]
    for audit in audits:
        lines += [
            "",
            f"## {audit.name}",
            "",
            _summary_line(audit),
            "",
            "| ID | Severity | Finding | Control | Affected | Remediation |",
            "|---|---|---|---|---|---|",
        ]
        for row in findings_table(audit.findings, audit.limitations).itertuples():
            lines.append(
                "| "
                + " | ".join(
                    _markdown_cell(v)
                    for v in (row.id, row.severity, row.title, row.control, row.affected, row.remediation)
                )
                + " |"
            )
    return "\n".join(lines) + "\n"


# The report fits a laptop screen (1366 px): the page has a maximum width, long cells wrap, and
# Azure Policy ids break where they must; printed, tables keep their headers and rows whole.
_CSS = (
    """body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1280px;padding:0 1em;color:#212121}
.high{color:#b71c1c;font-weight:bold}.medium{color:#e65100}.low{color:#33691e}
.pictures{display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start}.pictures svg{max-width:100%;height:auto}
h3{margin-bottom:.2em}
@media print{body{margin:0;max-width:none}h2{break-before:page}h2:first-of-type{break-before:auto}
h3{break-after:avoid}.pictures{break-inside:avoid}}
"""
    + TABLE_CSS
)


# What the HTML report shows of the wider tables, so they fit the page; ids are shortened (in full on
# hover), and the JSON and CSV outputs carry every column in full.
_HTML_COLUMNS = {
    "role_assignments": (
        "principal_name",
        "role",
        "scope_kind",
        "secret",
        "via_group",
        "reads_secret_values",
        "principal_type",
        "user_type",
        "account_enabled",
        "privileged",
        "can_assign_roles",
        "inherited_from",
        "end_time",
        "created_on",
        "assignment_id",
    )
}


def _html_table(frame: pd.DataFrame | None, name: str = "", *, max_rows: int = 2000) -> str:
    if frame is None:
        return "<p><em>Not visible to this identity (see limitations).</em></p>"
    return html_table(frame, _HTML_COLUMNS.get(name), max_rows=max_rows)


def _findings_rows(findings: pd.DataFrame) -> str:
    return "".join(
        f'<tr><td>{escape(r.id)}</td><td class="{escape(r.severity)}">{escape(r.severity)}</td>'
        f"<td>{escape(r.title)}</td><td>{escape(r.control)}</td>"
        f"<td>{'<br>'.join(escape(a) for a in r.affected.split('; ') if a)}</td><td>{escape(r.remediation)}</td></tr>"
        for r in findings.itertuples()
    )


def render_html(
    audits: Sequence,
    *,
    identity: str | None = None,
    generated_at: datetime | None = None,
    settings: AuditSettings | None = None,
    **_,
) -> str:
    settings = settings or AuditSettings()
    body = [
        f"<h1>Key Vault audit</h1><p>Generated {escape(_stamp(generated_at))}"
        + (f" as {escape(identity)}" if identity else "")
        + ".</p>"
    ]
    for audit in audits:
        rows = _findings_rows(findings_table(audit.findings, audit.limitations))
        body.append(f"<h2>{escape(audit.name)}</h2><p>{escape(_summary_line(audit))}</p>")
        body.append(
            '<div class="pictures">'
            + expiry_timeline_svg(
                audit.tables.secrets,
                now=getattr(audit, "now", None) or settings.current_time(),
                warning_days=settings.min_days_before_expiry,
            )
            + review_status_svg(audit.tables.reviews)
            + "</div>"
        )
        body.append(
            '<h3>Findings</h3><table class="kvnb-table"><thead><tr><th>ID</th><th>Severity</th><th>Finding</th>'
            f"<th>Control</th><th>Affected</th><th>Remediation</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        for name, frame in audit.tables.as_dict().items():
            body.append(f"<h3>{escape(name.replace('_', ' ').capitalize())}</h3>{_html_table(frame, name)}")
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Key Vault audit</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )


_RENDERERS = {
    "table": render_table,
    "json": render_json,
    "csv": render_csv,
    "html": render_html,
    "markdown": render_markdown,
}


def render(audits: Sequence, output: str = "table", **kwargs) -> str:
    """Render *audits* in one of FORMATS."""
    if output not in _RENDERERS:
        raise ValueError(f"Unknown output {output!r}; choose one of {', '.join(FORMATS)}.")
    return _RENDERERS[output](audits, **kwargs)
