"""How kvnb shows a table to a person. One set of rules covers notebook display (``%kvaccess``, the
notebooks), the vault panel, the HTML audit report and ``kvnb audit --output table``:

* day counts as whole days (``59``, not ``58.997812``); shares as percentages;
* blanks for what is missing (never ``NaT``, ``NaN``, ``None`` or ``<NA>``);
* short UTC times: ``2026-12-03 18:50Z``;
* long ids (GUIDs, ARM resource and Azure Policy ids) shortened to ``1a48c0e8…`` or
  ``…/secrets/APICaller``. HTML keeps the full value in the cell's ``title`` (shown on hover), and
  exports (CSV, JSON) keep the audit's frames as they are;
* the answer first: principal, role, scope, via, reads values, then the other columns as given.

Pure functions over DataFrames: what a cell reads is testable without a browser. Nothing here
holds a secret value; the tables are metadata.
"""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
from collections.abc import Iterable
from datetime import datetime
from html import escape

import pandas as pd

__all__ = [
    "ANSWER_FIRST",
    "TABLE_CSS",
    "Table",
    "answer_first",
    "cell_text",
    "display_table",
    "header",
    "html_table",
    "is_missing",
    "readable",
    "short_id",
    "terminal_width",
    "text_table",
    "time_text",
]

# The columns that answer "who can do what, where, and how": they lead, in this order.
ANSWER_FIRST = (
    "principal_name",
    "principal",
    "group_name",
    "group",
    "role",
    "role_name",
    "roles",
    "scope",
    "scope_kind",
    "secret",
    "via",
    "via_group",
    "reads_secret_values",
    "reads_values",
)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEX_ID = re.compile(r"^[0-9a-fA-F]{24,}$")  # a Key Vault version, a request id without dashes
_ARM_ID = re.compile(r"^/(subscriptions|providers)/\S+$", re.IGNORECASE)
_SHORT = 8
# Ids people copy into a command (`%kvaccess approve ID`): shown whole, on one line.
TYPED_IDS = frozenset({"request_id"})
TEXT_WIDTH = 250  # when the output is no terminal (a notebook's text/plain, a pipe): as pandas' display.width
MAX_TEXT_CELL = 48  # characters a terminal cell shows before it wraps
MAX_WORD = 24  # a longer word (an id, a URL) may be cut to keep the table in the terminal
MIN_TEXT_CELL = 6  # narrower than this, a column is unreadable: the line may overflow instead

# A laptop screen (1366 px) holds the widest table: cells wrap, long ids break anywhere, and a
# printed report repeats each table's header and keeps rows whole.
TABLE_CSS = """table.kvnb-table{border-collapse:collapse;margin:.5em 0 1.5em;max-width:100%;table-layout:auto}
.kvnb-table td,.kvnb-table th{border:1px solid #ccc;padding:3px 6px;font-size:12px;vertical-align:top;
text-align:left;max-width:28em;overflow-wrap:break-word}.kvnb-table td[title]{word-break:break-all}
.kvnb-table th{background:#f5f5f5;overflow-wrap:normal}.kvnb-table td.num{text-align:right}
.kvnb-table td[title]{cursor:help;text-decoration:underline dotted #999}
@media print{.kvnb-table{font-size:10px}.kvnb-table thead{display:table-header-group}
.kvnb-table tr{break-inside:avoid}.kvnb-table td[title]{text-decoration:none}}"""


# -- one cell ---------------------------------------------------------------------------------------
def is_missing(value) -> bool:
    """None, NaN, NaT and pandas' NA; never an empty list or False."""
    if value is None:
        return True
    if isinstance(value, (str, bool, list, tuple, set, dict)) or pd.api.types.is_bool(value):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def time_text(value) -> str:
    """``2026-12-03 18:50Z`` (UTC; a naive time is taken as UTC, as the audit's are)."""
    if is_missing(value):
        return ""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%d %H:%MZ")


def short_id(text: str) -> str:
    """A long id as a person scans it; anything else as it is.

    ``1a48c0e8-…`` GUIDs and long hex ids keep their first 8 characters; an ARM or Azure Policy id
    keeps its last two segments (``…/secrets/APICaller``, ``…/policyDefinitions/0b60c0b2…``).
    """
    if not isinstance(text, str):
        return text
    if _GUID.match(text) or _HEX_ID.match(text):
        return text[:_SHORT] + "…"
    if _ARM_ID.match(text):
        parts = text.rstrip("/").split("/")
        tail = [short_id(part) for part in parts[-2:]]
        return "…/" + "/".join(tail) if len(parts) > 3 else text
    return text


def _is_days(column: str) -> bool:
    return "days" in column


def _is_share(column: str) -> bool:
    return column.endswith("share")


def cell_text(value, column: str = "", *, shorten: bool = True) -> str:
    """What one cell reads. *column* tells days and shares apart; *shorten* shortens long ids."""
    if isinstance(value, (list, tuple, set)):
        return ", ".join(cell_text(item, column, shorten=shorten) for item in value)
    if is_missing(value):
        return ""
    if pd.api.types.is_bool(value):  # numpy's bool_ too
        return "yes" if value else "no"
    if isinstance(value, (pd.Timestamp, datetime)):
        return time_text(value)
    if isinstance(value, float) or (isinstance(value, int) and _is_days(column)):
        if _is_days(column):
            return str(round(value))
        if _is_share(column):
            return f"{value:.0%}"
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    text = str(value)
    return short_id(text) if shorten and column not in TYPED_IDS else text


def header(column) -> str:
    """A column's name as a header people read (``days_to_expiry`` → ``days to expiry``)."""
    return str(column).replace("_", " ")


# -- a frame ----------------------------------------------------------------------------------------
def answer_first(columns: Iterable[str]) -> list[str]:
    """*columns* with the answering ones (`ANSWER_FIRST`) first, in that order; the rest as given."""
    columns = list(columns)
    leading = [c for c in ANSWER_FIRST if c in columns]
    return leading + [c for c in columns if c not in leading]


def readable(
    frame: pd.DataFrame, columns: Iterable[str] | None = None, *, shorten: bool = True, reorder: bool = True
) -> pd.DataFrame:
    """*frame* (its *columns*, those it has) as text cells people read; column order answer-first."""
    chosen = [c for c in (columns if columns is not None else frame.columns) if c in frame.columns]
    if reorder:
        chosen = answer_first(chosen)
    shown = pd.DataFrame(index=range(len(frame)))
    for column in chosen:
        values = frame[column].tolist()
        shown[column] = [cell_text(value, str(column), shorten=shorten) for value in values]
    return shown


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return ""
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(series):
        return "time"
    return "num" if pd.api.types.is_numeric_dtype(series) else ""


def html_table(
    frame: pd.DataFrame | None,
    columns: Iterable[str] | None = None,
    *,
    max_rows: int | None = None,
    reorder: bool = True,
) -> str:
    """An HTML ``<table class="kvnb-table">`` of *frame*; a shortened cell has the full text as its title.

    Style it with `TABLE_CSS` (the report includes it; `Table` carries it inline for notebooks).
    """
    if frame is None:
        return ""
    shown_rows = frame if max_rows is None else frame.head(max_rows)
    full = readable(shown_rows, columns, shorten=False, reorder=reorder)
    short = readable(shown_rows, columns, shorten=True, reorder=reorder)
    kinds = {c: _kind(frame[c]) for c in full.columns}
    head = "".join(f"<th>{escape(header(c))}</th>" for c in full.columns)
    body = []
    for full_row, short_row in zip(full.itertuples(index=False), short.itertuples(index=False)):
        cells = []
        for column, whole, text in zip(full.columns, full_row, short_row):
            attributes = f' class="{kinds[column]}"' if kinds[column] else ""
            if text != whole:
                attributes += f' title="{escape(whole)}"'
            cells.append(f"<td{attributes}>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    note = ""
    if max_rows is not None and len(frame) > max_rows:
        note = f"<p>Showing {max_rows:,} of {len(frame):,} rows.</p>"
    return f'{note}<table class="kvnb-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def text_table(
    frame: pd.DataFrame, columns: Iterable[str] | None = None, *, width: int | None = None, reorder: bool = True
) -> str:
    """Aligned plain text for a terminal; a long cell wraps within its column instead of the line."""
    shown = readable(frame, columns, reorder=reorder)
    if shown.columns.empty:
        return ""
    width = width or terminal_width()
    headers = [header(c) for c in shown.columns]
    rows = [list(row) for row in shown.itertuples(index=False)]
    natural = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    widths = [min(MAX_TEXT_CELL, n) for n in natural]
    # A column narrows down to its longest word (up to MAX_WORD): names and headers wrap between words.
    floors = [
        min(
            widths[i],
            max(
                [MIN_TEXT_CELL]
                + [min(len(word), MAX_WORD) for text in [h] + [r[i] for r in rows] for word in text.split()]
            ),
        )
        for i, h in enumerate(headers)
    ]
    for i, column in enumerate(shown.columns):
        if column in TYPED_IDS:  # copied into a command: never cut
            widths[i] = floors[i] = max(len(r[i]) for r in rows) if rows else widths[i]
    while sum(widths) + 2 * (len(widths) - 1) > width:
        shrinkable = [i for i in range(len(widths)) if widths[i] > floors[i]]
        if not shrinkable:
            break  # as narrow as it reads: the line overflows
        # Free text (the longest cells) wraps first; short names and roles stay on one line longest.
        widths[max(shrinkable, key=lambda i: (natural[i] > MAX_TEXT_CELL, widths[i]))] -= 1
    lines = [_text_line(headers, widths)] + [_text_line(["─" * w for w in widths], widths)]
    for row in rows:
        lines.append(_text_line(row, widths))
    return "\n".join(lines)


def terminal_width() -> int:
    """The terminal's width when output goes to one, else `TEXT_WIDTH` (a notebook, a pipe, a test)."""
    stream = sys.stdout
    if stream is not None and getattr(stream, "isatty", lambda: False)():
        return shutil.get_terminal_size((TEXT_WIDTH, 24)).columns
    return TEXT_WIDTH


def _text_line(cells: list[str], widths: list[int]) -> str:
    wrapped = [textwrap.wrap(cell, w, break_on_hyphens=False) or [""] for cell, w in zip(cells, widths)]
    height = max(len(parts) for parts in wrapped)
    out = []
    for index in range(height):
        out.append(
            "  ".join(
                (parts[index] if index < len(parts) else "").ljust(w) for parts, w in zip(wrapped, widths)
            ).rstrip()
        )
    return "\n".join(out)


# -- notebook display -------------------------------------------------------------------------------
class Table:
    """A table for a notebook cell: HTML (styled inline) in JupyterLab and VS Code, text in a terminal."""

    def __init__(self, frame: pd.DataFrame, columns: Iterable[str] | None = None, *, reorder: bool = True):
        self.frame = frame
        self.columns = list(columns) if columns is not None else None
        self.reorder = reorder

    def _repr_html_(self) -> str:
        return f"<style>{TABLE_CSS}</style>" + html_table(self.frame, self.columns, reorder=self.reorder)

    def __repr__(self) -> str:
        return text_table(self.frame, self.columns, reorder=self.reorder)

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(repr(self))


def display_table(frame: pd.DataFrame, columns: Iterable[str] | None = None, *, reorder: bool = True) -> None:
    """Show *frame* in the running IPython (``%kvaccess`` and the notebooks use this)."""
    from IPython.display import display

    display(Table(frame, columns, reorder=reorder))
