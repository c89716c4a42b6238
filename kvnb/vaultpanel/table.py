"""One tab's content: a message line, an interactive table (itables' DataTables widget), the selected
row's details and a picture.

itables' widget (``itables.widget.ITable``, an anywidget) gives sorting, paging and row selection
in JupyterLab and VS Code alike, with its JavaScript bundled: no CDN, no code of ours in the
browser. Its down-sampling of large tables is off (``maxBytes=0``): a 10,000-row table arrives
whole, and DataTables draws only the page on screen.

Speed, measured with 10,000 rows (see docs/panel.md): each ITable loads its own copy of the
DataTables bundle in the browser, so a tab's table is made only when the tab is first shown; column
types are given (DataTables would otherwise test every cell of every column) and automatic column
widths are off (they scan every cell for the longest text).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

import ipywidgets as widgets
import pandas as pd

from .views import TabSpec, display_frame, matching, row_details, row_text, shown_columns

try:
    from itables.widget import ITable
except ImportError as exc:  # anywidget missing: itables' widget mode cannot load
    raise ImportError("The vault panel needs itables and anywidget: pip install 'kvnb[notebook]'.") from exc

# DataTables options: single-row selection; no search box (the panel's filter covers every tab).
TABLE_OPTIONS = {
    "maxBytes": 0,
    "select": {"style": "single", "items": "row"},
    "layout": {"topStart": "pageLength", "topEnd": None, "bottomStart": "info", "bottomEnd": "paging"},
    "pageLength": 10,
    "lengthMenu": [10, 25, 50, 100],
    "autoWidth": False,
    "classes": "display compact cell-border",  # cells wrap: the table fits the cell, no sideways scroll
    "style": "table-layout:auto;width:auto;margin:0;caption-side:bottom",
}
RowCallback = Callable[[str, pd.Series], None]


def column_types(frame: pd.DataFrame, columns) -> list[dict]:
    """DataTables ``columnDefs`` naming each shown column's type: numbers sort by value, the rest as text."""
    numeric = [
        i
        for i, c in enumerate(columns)
        if c in frame.columns and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    text = [i for i in range(len(columns)) if i not in numeric]
    # num-fmt: numbers as kvnb.present writes them ("1,234", "33%", blank for none).
    return [
        definition
        for definition in ({"targets": numeric, "type": "num-fmt"}, {"targets": text, "type": "string"})
        if definition["targets"]
    ]


class TableView:
    """A tab: ``show(frame, query)`` keeps the rows matching *query* and paints them once the tab
    is active (`activate`); a row selected in the browser calls back with the audit's row."""

    def __init__(self, spec: TabSpec, on_row: RowCallback):
        self.spec = spec
        self._on_row = on_row
        self.message = widgets.HTML()
        self.table: ITable | None = None  # made by activate()
        self.picture = widgets.HTML(layout=widgets.Layout(max_height="360px", overflow="auto"))
        self.detail = widgets.HTML()
        self.table_box = widgets.Box([], layout=widgets.Layout(overflow="auto", width="100%", display="none"))
        self.widget = widgets.VBox([self.message, self.table_box, self.detail, self.picture])
        self._frame: pd.DataFrame | None = None  # the audit frame last shown
        self._source: pd.DataFrame | None = None  # it, indexed 0…n-1
        self._shown_all: pd.DataFrame | None = None  # it as displayed, every row
        self._haystack: pd.Series | None = None
        self._query = ""
        self._shown: pd.DataFrame | None = None  # what the table shows (or will, once made)
        self._options: dict = {}
        self._stale = False  # the table shows older rows than _shown
        self.active = False  # its tab has been on screen
        self.rows: pd.DataFrame | None = None  # the audit rows in the table (filtered)

    # -- painting ---------------------------------------------------------------------------------
    def show(self, frame: pd.DataFrame, query: str = "", *, note: str = "") -> None:
        """Show *frame*'s rows matching *query*; *note* (HTML) goes above the table."""
        self.message.value = note
        if frame is self._frame and query == self._query and self.rows is not None:
            return  # unchanged: do not send the rows to the browser again
        if frame is not self._frame:
            self._frame = frame
            self._source = frame.reset_index(drop=True)
            self._shown_all = display_frame(self.spec.key, self._source)
            self._options = {
                **TABLE_OPTIONS,
                "columnDefs": column_types(self._source, shown_columns(self.spec.key, self._source)),
            }
            self._haystack = None
        mask = None
        if query.strip():
            if self._haystack is None:
                self._haystack = row_text(self._shown_all)
            mask = matching(self._haystack, query).to_numpy()
        self._shown = self._shown_all if mask is None else self._shown_all[mask].reset_index(drop=True)
        self.rows = self._source if mask is None else self._source[mask].reset_index(drop=True)
        self._query = query
        self.detail.value = ""
        self._stale = True
        self._paint()

    def activate(self) -> None:
        """The tab is on screen: make its table when it has rows to show, and paint them."""
        self.active = True
        self._paint()

    def _paint(self) -> None:
        if not self.active or self._shown is None:
            return  # painted when the tab is first shown
        if self.table is None:
            self.table = ITable(self._shown, **self._options)
            self.table.observe(self._selection_changed, names="selected_rows")
            self.table_box.children = (self.table,)
        elif self._stale:
            # Every option again: update() recomputes the rest from itables' defaults (64 KB down-sampling).
            self.table.update(self._shown, selected_rows=[], **self._options)
        self._stale = False
        self.table_box.layout.display = None

    def show_message(self, html: str) -> None:
        """No table (not visible to the caller, or not gathered yet): only *html*."""
        self._frame = self._source = self._shown_all = self._haystack = self._shown = self.rows = None
        self.message.value = html
        self.detail.value = ""
        self.table_box.layout.display = "none"

    @property
    def row_count(self) -> int | None:
        """Rows in the table (after the filter), or None when the tab shows a message."""
        return None if self.rows is None else len(self.rows)

    # -- selection --------------------------------------------------------------------------------
    def select(self, position: int | None) -> None:
        """Select the row at *position* of the table (as a click does); None clears."""
        self.activate()
        if self.table is None:
            raise ValueError(f"The {self.spec.title} tab has no table to select from.")
        self.table.selected_rows = [] if position is None else [position]

    def _selection_changed(self, change) -> None:
        chosen = change["new"]
        if not chosen or self.rows is None or not 0 <= chosen[0] < len(self.rows):
            self.detail.value = ""
            return
        row = self.rows.iloc[chosen[0]]
        self.detail.value = _detail_html(row)
        self._on_row(self.spec.key, row)


def _detail_html(row: pd.Series) -> str:
    """Every column of the selected row, compactly: the table shows only some of them."""
    cells = "".join(
        f"<div><b>{escape(str(column))}</b>: {escape(text)}</div>" for column, text in row_details(row) if text
    )
    return (
        "<div class='kvnb-selected' style='font-size:12px;margin:4px 0;display:grid;gap:2px 16px;"
        f"grid-template-columns:repeat(auto-fill,minmax(280px,1fr))'>{cells}</div>"
    )
