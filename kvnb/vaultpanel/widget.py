"""`VaultPanel`: the audit of one vault as tabs of interactive tables, over stock ipywidgets.

The audit (`kvnb.audit.start_audit`) runs in a background thread and reports each stage; the panel
paints a table as soon as it exists (the first page of secrets comes long before version counts)
and repaints the secrets as version counts arrive, at most once per `REPAINT_SECONDS` so a 10,000-row
table is not re-sent on every report. Widget changes from that thread are serialised by a lock;
ipykernel sends them to the front end from any thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timezone
from html import escape
from pathlib import Path

import ipywidgets as widgets
import pandas as pd

from kvnb.audit import AuditProgress, AuditSettings, VaultAudit, findings_table, start_audit
from kvnb.audit.charts import expiry_timeline_svg, review_status_svg
from kvnb.audit.findings import PRINCIPALS, VERSIONS

from . import export
from .summary import summary_line
from .table import TableView
from .views import TAB_KEYS, TABS, tab_spec

REPAINT_SECONDS = 1.0
# Sources whose absence leaves a table standing but incomplete: said above that table.
_NOTES = {"secrets": (VERSIONS,), "role_assignments": (PRINCIPALS,)}
SelectCallback = Callable[[str, pd.Series], None]


class VaultPanel:
    """Tabs Secrets, Role assignments, Reviews and Findings for *vault*, with a filter, refresh and export.

    *vault*: a name, URL, ``local`` or an open `VaultTarget`. Display it as a cell's last value, or
    ``display(panel.widget)``. Secret values are never read: the audit lists metadata only.
    """

    def __init__(
        self,
        vault,
        *,
        persona: str | None = None,
        settings: AuditSettings | None = None,
        export_dir: str | Path | None = None,
        start: bool = True,
    ):
        self.vault = vault
        self.persona = persona
        self.settings = settings or AuditSettings()
        self.export_dir = Path(export_dir) if export_dir is not None else None
        self.audit: VaultAudit | None = None
        self.progress: AuditProgress | None = None
        self.last_refreshed: datetime | None = None
        self.error: str | None = None  # the last audit's failure, as shown in the panel
        self.running = False  # an audit is on its way
        self._future: Future | None = None
        self._settled = threading.Event()
        self._lock = threading.RLock()
        self._generation = 0
        self._frames: dict[str, pd.DataFrame | None] = dict.fromkeys(TAB_KEYS)
        self._unavailable: dict[str, str] = {}
        self._painted_at: dict[str, float] = {}
        self._callbacks: list[SelectCallback] = []
        self._build()
        if start:
            self.refresh()

    @classmethod
    def from_audit(cls, audit: VaultAudit, **options) -> VaultPanel:
        """A panel over an audit already made (Refresh audits *audit*'s vault by URL again)."""
        panel = cls(audit.url, start=False, **options)
        panel._apply_audit(audit, panel._generation)
        return panel

    # -- widgets ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.title = widgets.HTML(self._title_html())
        self.filter = widgets.Text(
            placeholder="Filter rows (every word, any column)",
            continuous_update=False,
            layout=widgets.Layout(width="320px"),
        )
        self.filter.observe(lambda _: self._repaint_all(), names="value")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh", tooltip="Audit the vault again")
        self.refresh_button.on_click(lambda _: self._refresh_clicked())
        self.refreshed = widgets.HTML("")
        self.csv_button = widgets.Button(
            description="Export CSV", icon="download", tooltip="This tab's rows (as filtered), next to the notebook"
        )
        self.csv_button.on_click(lambda _: self._export_clicked("csv"))
        self.html_button = widgets.Button(
            description="Export HTML", icon="download", tooltip="The audit report: findings, pictures, every table"
        )
        self.html_button.on_click(lambda _: self._export_clicked("html"))
        self.html_button.disabled = True
        self.status = widgets.HTML("")
        self.summary = widgets.HTML("")
        self.views = {spec.key: TableView(spec, self._row_selected) for spec in TABS}
        self.tabs = widgets.Tab(
            children=[self.views[key].widget for key in TAB_KEYS],
            titles=[spec.title for spec in TABS],
            selected_index=0,
        )
        self.tabs.observe(self._tab_shown, names="selected_index")
        self.views[TAB_KEYS[0]].activate()
        toolbar = widgets.HBox(
            [self.filter, self.refresh_button, self.csv_button, self.html_button, self.refreshed],
            layout=widgets.Layout(align_items="center", flex_flow="row wrap"),
        )
        self.widget = widgets.VBox(
            [self.title, toolbar, self.summary, self.status, self.tabs], layout=widgets.Layout(width="100%")
        )
        self.widget.add_class("kvnb-panel")
        for key in TAB_KEYS:
            self.views[key].show_message("<em>Loading…</em>")

    def _title_html(self) -> str:
        name = self._vault_name()
        who = self.persona or getattr(self.vault, "persona", None)
        return (
            f"<b>Key Vault {escape(name)}</b>"
            + (f" as <code>{escape(who)}</code>" if who else "")
            + " <span style='color:#666'>(metadata only: no secret value is read)</span>"
        )

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # -- public API -------------------------------------------------------------------------------
    def refresh(self) -> Future:
        """Audit the vault again; tables repaint as results arrive. Returns the audit's Future."""
        with self._lock:
            self._generation += 1
            generation = self._generation
            self.error = None
            self.running = True
            self.status.value = ""
            self.refresh_button.disabled = True
            self.refreshed.value = "<em>Refreshing…</em>"
        try:
            future = start_audit(
                self.vault,
                persona=self.persona,
                settings=self.settings,
                on_progress=lambda progress: self._apply_progress(progress, generation),
            )
        except Exception as exc:  # the vault cannot be opened: say so in the panel, and to the caller
            self._fail(exc, generation)
            raise
        settled = threading.Event()  # set once the outcome is painted, not merely known
        self._future, self._settled = future, settled
        future.add_done_callback(lambda done: self._finished(done, generation, settled))
        return future

    def wait(self, timeout: float | None = None) -> VaultAudit:
        """Block until the running audit ends and is painted (tests, scripts); returns it or raises its error."""
        if self._future is None:
            if self.audit is None:
                raise RuntimeError("No audit is running; call refresh().")
            return self.audit
        if not self._settled.wait(timeout):
            raise TimeoutError(f"The audit did not finish within {timeout} s.")
        return self._future.result(0)

    def on_select(self, callback: SelectCallback) -> None:
        """Call ``callback(tab, row)`` when a row is selected; *row* is the audit table's row (a Series)."""
        self._callbacks.append(callback)

    def select(self, tab: str, position: int | None) -> None:
        """Select the row at *position* of *tab*'s table as shown (filtered), as a click does."""
        self.views[tab_spec(tab).key].select(position)

    def table(self, tab: str) -> pd.DataFrame | None:
        """*tab*'s audit rows now in its table (after the filter), or None when not visible/loaded."""
        return self.views[tab_spec(tab).key].rows

    @property
    def current_tab(self) -> str:
        return TAB_KEYS[self.tabs.selected_index or 0]

    def export_csv(self, tab: str | None = None, path: str | Path | None = None) -> Path:
        """Write *tab*'s rows (the current tab by default; filtered as shown) to CSV; returns the path."""
        key = tab_spec(tab or self.current_tab).key
        rows = self.views[key].rows
        if rows is None:
            raise ValueError(f"The {tab_spec(key).title} tab has no table to export yet.")
        target = Path(path) if path else export.export_path(self._directory(), self._vault_name(), key, "csv")
        return export.write_csv(rows, target)

    def export_html(self, path: str | Path | None = None) -> Path:
        """Write the audit's HTML report (as `kvnb audit --output html`); returns the path."""
        if self.audit is None:
            raise ValueError("The audit has not finished yet; export HTML when it has.")
        target = Path(path) if path else export.export_path(self._directory(), self._vault_name(), "audit", "html")
        return export.write_html_report(self.audit, target, identity=self.persona, settings=self.settings)

    # -- applying results -------------------------------------------------------------------------
    def _apply_progress(self, progress: AuditProgress, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return  # a report of an audit that a refresh replaced
            self.progress = progress
            self.title.value = self._title_html()
            self._take_tables(progress.tables)
            throttled = (
                progress.stage == "versions" and time.monotonic() - self._painted_at.get("secrets", 0) < REPAINT_SECONDS
            )
            keys = [k for k in TAB_KEYS if k != "findings" and not (k == "secrets" and throttled)]
            self._paint(keys)
            pending = f"<em>Findings are judged when every table is in{self._versions_note()}.</em>"
            if self._frames["findings"] is None:
                self.views["findings"].show_message(pending)

    def _apply_audit(self, audit: VaultAudit, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self.audit = audit
            self.running = False
            self._take_tables(audit.tables)
            self._frames["findings"] = findings_table(audit.findings, audit.limitations)
            self.last_refreshed = datetime.now(timezone.utc)
            self.refreshed.value = f"Last refreshed {self.last_refreshed:%Y-%m-%d %H:%M:%S} UTC"
            self.refresh_button.disabled = False
            self.html_button.disabled = False
            self.title.value = self._title_html()
            self._paint(TAB_KEYS)

    def _finished(self, done: Future, generation: int, settled: threading.Event) -> None:
        try:
            try:
                audit = done.result()
            except Exception as exc:  # shown in the panel; wait() re-raises it to code
                self._fail(exc, generation)
                return
            self._apply_audit(audit, generation)
        finally:
            settled.set()

    def _fail(self, exc: Exception, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            text = (str(exc).splitlines() or [exc.__class__.__name__])[0]
            self.error = text
            self.running = False
            self.status.value = f"<span style='color:#b71c1c'>Audit failed: {escape(text)}</span>"
            self.refresh_button.disabled = False
            self.refreshed.value = ""

    def _take_tables(self, tables) -> None:
        for key in ("secrets", "role_assignments", "reviews"):
            self._frames[key] = getattr(tables, key)
        self._unavailable = dict(tables.unavailable)

    # -- painting ---------------------------------------------------------------------------------
    def _repaint_all(self) -> None:
        with self._lock:
            self._paint(TAB_KEYS)

    def _paint(self, keys) -> None:
        query = self.filter.value
        for key in keys:
            spec, view, frame = tab_spec(key), self.views[key], self._frames[key]
            if frame is None:
                reason = self._unavailable.get(spec.source) if spec.source else None
                if reason:
                    view.show_message(
                        f"<p style='color:#8d4b00'><b>You cannot see the {escape(spec.title.lower())}"
                        f"</b> with this identity. {escape(reason)}</p>"
                    )
                elif key != "findings" or self.audit is not None:
                    view.show_message("<em>Loading…</em>")
                continue
            view.show(frame, query, note=self._note(key))
            self._painted_at[key] = time.monotonic()
        self.views["secrets"].picture.value = (
            expiry_timeline_svg(
                self._frames["secrets"], now=self._now(), warning_days=self.settings.min_days_before_expiry
            )
            if self._frames["secrets"] is not None
            else ""
        )
        self.views["reviews"].picture.value = (
            review_status_svg(self._frames["reviews"]) if self._frames["reviews"] is not None else ""
        )
        self.summary.value = self._summary_html()

    def _note(self, key: str) -> str:
        notes = [self._unavailable[s] for s in _NOTES.get(key, ()) if s in self._unavailable]
        if key == "secrets" and self.running and self.progress is not None:
            notes.append(f"Version counts arrive as they are read{self._versions_note()}.")
        return "".join(f"<p style='color:#8d4b00;margin:2px 0'>{escape(n)}</p>" for n in notes)

    def _versions_note(self) -> str:
        progress = self.progress
        if progress is None or not progress.secrets_listed:
            return ""
        return f" (versions counted for {progress.versions_done:,} of {progress.secrets_listed:,} secrets)"

    def _now(self) -> pd.Timestamp:
        if self.audit is not None and self.audit.now is not None:
            return self.audit.now
        return self.settings.current_time()

    def _summary_html(self) -> str:
        line = summary_line(self._frames, now=self._now(), warning_days=self.settings.min_days_before_expiry)
        return f"<span class='kvnb-summary'>{escape(line)}</span>" if line else ""

    # -- events -----------------------------------------------------------------------------------
    def _tab_shown(self, change) -> None:
        if change["new"] is not None:
            with self._lock:
                self.views[TAB_KEYS[change["new"]]].activate()

    def _row_selected(self, tab: str, row: pd.Series) -> None:
        for callback in list(self._callbacks):
            callback(tab, row)

    def _refresh_clicked(self) -> None:
        try:
            self.refresh()
        except Exception:  # already shown in the panel's status line
            pass

    def _export_clicked(self, kind: str) -> None:
        try:
            path = self.export_csv() if kind == "csv" else self.export_html()
        except (ValueError, OSError) as exc:
            self.status.value = f"<span style='color:#b71c1c'>{escape(str(exc))}</span>"
            return
        self.status.value = f"Wrote <code>{escape(path.name)}</code> in <code>{escape(str(path.parent))}</code>."

    def _directory(self) -> Path:
        return export.export_directory(self.export_dir)

    def _vault_name(self) -> str:
        if self.audit is not None:
            return self.audit.name
        if self.progress is not None:
            return self.progress.vault
        return str(getattr(self.vault, "name", None) or self.vault or "the default vault")
