"""The vault panel's Python side, against a real local vault: tabs, filter, refresh, export, summary,
selection, the reader's view, and painting before the audit has finished.

Widgets run without a front end here (ipywidgets keeps their state in Python); the browser test
(`test_panel_browser.py`) checks the same panel as JupyterLab draws it.
"""

from __future__ import annotations

import json
import secrets as random_source
import time

import pandas as pd
import pytest
from IPython.core.error import UsageError

import kvnb
import kvnb.vaultpanel
from ipshell import run
from kvnb.audit import audit_vault
from kvnb.local.seed.scenario import FIRST_VAULT
from kvnb.local.state.secrets import set_secret
from kvnb.vaultpanel import VaultPanel
from kvnb.vaultpanel.table import TableView
from kvnb.vaultpanel.views import matching, row_text
from valuecheck import assert_not_leaked

TITLES = ("Secrets", "Role assignments", "Reviews", "Findings")


@pytest.fixture
def seed(local_vault, monkeypatch):
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    for name in ("KVNB_PERSONA", "KVNB_VAULT"):
        monkeypatch.delenv(name, raising=False)
    return local_vault


@pytest.fixture
def open_panels():
    """Panels made by a test; each one's audit is awaited so no thread outlives the vault."""
    made: list[VaultPanel] = []

    def make(*args, **kwargs) -> VaultPanel:
        panel = VaultPanel(*args, **kwargs)
        made.append(panel)
        return panel

    yield make
    for panel in made:
        if panel._future is not None:
            panel._future.exception(timeout=60)


def secret_names(vault, persona: str = "lead") -> list[str]:
    return [item.name for item in vault.secret_client(persona).list_properties_of_secrets()]


def secret_values(vault) -> list[str]:
    """Every current value of the vault, read by the lead in this process: what must never show."""
    client = vault.secret_client("lead")
    return [
        client.get_secret(name).value
        for name in secret_names(vault)
        if next(iter(client.list_properties_of_secret_versions(name))).enabled
    ]


def widget_texts(panel: VaultPanel) -> str:
    """Everything the panel would send to a browser: the state of every widget in its tree, as JSON."""
    seen, texts, stack = set(), [], [panel.widget]
    while stack:
        widget = stack.pop()
        if id(widget) in seen:
            continue
        seen.add(id(widget))
        state = widget.get_state()
        texts.append(json.dumps({k: v for k, v in state.items() if isinstance(v, (str, list, dict))}, default=str))
        stack += list(getattr(widget, "children", ()))
        stack += [v for v in widget.trait_values().values() if hasattr(v, "get_state") and hasattr(v, "children")]
    for view in panel.views.values():
        if view.table is not None:
            texts.append(json.dumps(view.table.get_state(), default=str))
        texts += [view.message.value, view.detail.value, view.picture.value]
    return "\n".join(texts)


# -- tabs and what they hold -----------------------------------------------------------------------
def test_tabs_show_every_table_with_the_vaults_row_counts(seed, open_panels):
    panel = open_panels("local", persona="lead")
    audit = panel.wait(60)
    assert tuple(panel.tabs.titles) == TITLES
    reference = audit_vault("local", persona="lead")
    assert panel.views["secrets"].row_count == len(secret_names(seed)) == 7
    assert panel.views["role_assignments"].row_count == len(reference.tables.role_assignments) > 0
    assert panel.views["reviews"].row_count == len(reference.tables.reviews) == 4
    assert panel.views["findings"].row_count == len(audit.findings) + len(audit.limitations)
    shown = json.loads(panel.views["secrets"].table._dt_args["data_json"])
    assert len(shown) == 7  # the widget carries every row (no down-sampling)
    assert panel.views["secrets"].picture.value.startswith("<svg")  # expiry and rotation timeline
    assert panel.views["reviews"].picture.value.startswith("<svg")  # review status chart
    assert "overdue" in panel.views["reviews"].picture.value


def test_the_panel_never_holds_a_secret_value(seed, open_panels):
    panel = open_panels("local", persona="lead")
    panel.wait(60)
    for index in range(len(TITLES)):  # every tab's table is made
        panel.tabs.selected_index = index
    panel.select("secrets", 0)
    texts = widget_texts(panel)
    assert all(view.table is not None for view in panel.views.values() if view.rows is not None)
    assert "APICaller" in texts and "LegacyFtpPassword" in texts
    values = secret_values(seed)
    count = len(values)  # outside the assert, whose report would show len()'s argument: the values
    assert count >= 5
    for value in values:
        assert_not_leaked(value, texts)


def test_a_reader_sees_why_reviews_are_hidden_and_what_to_request(seed, open_panels):
    panel = open_panels("local", persona="newmember")
    audit = panel.wait(60)
    reviews = panel.views["reviews"]
    assert reviews.row_count is None and reviews.table_box.layout.display == "none"
    assert "You cannot see the reviews" in reviews.message.value
    assert "AccessReview.Read.All" in reviews.message.value  # what to request
    assert panel.views["secrets"].row_count == len(secret_names(seed, "newmember"))
    findings = panel.table("findings")
    assert "not checked" in set(findings["severity"])
    assert any("P4" in ids for ids in findings["id"])  # the blocked review checks are named
    assert audit.tables.reviews is None
    assert "reviews of" not in panel.summary.value


# -- filter, summary, selection ----------------------------------------------------------------------
def test_filter_narrows_every_tab_to_rows_containing_every_word(seed, open_panels):
    panel = open_panels("local", persona="lead")
    panel.wait(60)
    full = {key: view.row_count for key, view in panel.views.items()}
    panel.filter.value = "contractor"
    narrowed = {key: view.row_count for key, view in panel.views.items()}
    assert 0 < narrowed["role_assignments"] < full["role_assignments"]
    assert narrowed["secrets"] == 0
    rows = panel.table("role_assignments")
    assert rows["principal_upn"].str.contains("contractor", case=False).all()
    panel.tabs.selected_index = 1
    assert len(json.loads(panel.views["role_assignments"].table._dt_args["data_json"])) == narrowed["role_assignments"]
    panel.filter.value = "EXPIRES apicaller"  # both words, any case, any column
    assert panel.views["secrets"].row_count == 0
    panel.filter.value = "apicaller text/plain"
    assert list(panel.table("secrets")["name"]) == ["APICaller"]
    panel.filter.value = ""
    assert {key: view.row_count for key, view in panel.views.items()} == full


def test_matching_wants_every_word():
    shown = pd.DataFrame({"name": ["APICaller", "DbConnectionString"], "tags": ["owner=devops", None]})
    haystack = row_text(shown)
    assert list(matching(haystack, "api DEVOPS")) == [True, False]
    assert list(matching(haystack, "")) == [True, True]
    assert list(matching(haystack, "none")) == [False, False]  # a missing cell is empty, not "None"


def test_summary_counts_rows_by_status(seed, open_panels):
    panel = open_panels("local", persona="lead")
    audit = panel.wait(60)
    secrets, reviews = audit.tables.secrets, audit.tables.reviews
    text = panel.summary.value
    enabled, disabled = int(secrets["enabled"].sum()), int((~secrets["enabled"]).sum())
    assert f"{len(secrets)} secrets ({enabled} enabled, {disabled} disabled" in text
    for status, count in reviews["status"].value_counts().items():
        assert f"{count} {status}" in text
    high = sum(1 for f in audit.findings if f.severity.value == "high")
    assert f"findings: {high} high" in text
    assert "versions counted" not in text  # every count is in


def test_on_select_gets_the_selected_row_of_the_filtered_table(seed, open_panels):
    panel = open_panels("local", persona="lead")
    panel.wait(60)
    picked = []
    panel.on_select(lambda tab, row: picked.append((tab, row)))
    panel.filter.value = "webhook"
    view = panel.views["secrets"]
    view.table.selected_rows = [0]  # what the browser sets when a row is clicked
    assert [(tab, row["name"]) for tab, row in picked] == [("secrets", "WebhookSigningKey")]
    assert picked[0][1]["version_count"] >= 1  # the audit's row, every column
    assert "WebhookSigningKey" in view.detail.value
    panel.filter.value = ""
    panel.select("role_assignments", 1)
    assert picked[-1][0] == "role_assignments"
    assert picked[-1][1]["assignment_id"] == panel.table("role_assignments").iloc[1]["assignment_id"]
    view.table.selected_rows = []
    assert view.detail.value == "" and len(picked) == 2


# -- refresh and export ------------------------------------------------------------------------------
def test_refresh_button_audits_again_and_shows_the_time(seed, open_panels):
    panel = open_panels("local", persona="lead")
    panel.wait(60)
    first = panel.last_refreshed
    assert first is not None and "Last refreshed" in panel.refreshed.value
    seed.secret_client("lead").set_secret("AddedAfterPaint", random_source.token_urlsafe(16))
    time.sleep(1.0)  # the label shows seconds
    panel.refresh_button.click()
    assert panel.refresh_button.disabled
    panel.wait(60)
    assert panel.last_refreshed > first and not panel.refresh_button.disabled
    assert f"{panel.last_refreshed:%H:%M:%S}" in panel.refreshed.value
    assert panel.views["secrets"].row_count == 8
    assert "AddedAfterPaint" in set(panel.table("secrets")["name"])


def test_export_writes_the_filtered_tab_as_csv_and_the_report_as_html(seed, open_panels, tmp_path):
    panel = open_panels("local", persona="lead", export_dir=tmp_path)
    panel.wait(60)
    panel.filter.value = "text/plain"
    panel.csv_button.click()  # the current tab: Secrets
    written = sorted(tmp_path.glob("*.csv"))
    assert len(written) == 1 and written[0].name.startswith(f"{FIRST_VAULT}-secrets-")
    exported = pd.read_csv(written[0])
    assert list(exported["name"]) == list(panel.table("secrets")["name"])
    assert len(exported) < len(secret_names(seed))
    assert "Wrote" in panel.status.value
    panel.tabs.selected_index = 2
    reviews_csv = panel.export_csv()
    assert reviews_csv.name.startswith(f"{FIRST_VAULT}-reviews-")
    panel.html_button.click()
    report = next(tmp_path.glob("*.html")).read_text()
    assert "<svg" in report and "Findings" in report and "APICaller" in report
    everything = report + "".join(p.read_text() for p in tmp_path.glob("*.csv"))
    for value in secret_values(seed):
        assert_not_leaked(value, everything)


def test_export_html_before_the_audit_ends_says_to_wait(seed):
    panel = VaultPanel("local", persona="lead", start=False)
    with pytest.raises(ValueError, match="not finished"):
        panel.export_html()
    panel.html_button.click()  # disabled in a browser; a click from code only reports
    assert panel.html_button.disabled
    assert "Loading" in panel.views["secrets"].message.value


# -- progressive painting --------------------------------------------------------------------------
def test_paints_the_first_page_before_version_counts_and_fills_them_in(seed, monkeypatch):
    for index in range(120):
        for _ in range(1 + index % 3):
            set_secret(
                seed.store, FIRST_VAULT, f"bulk-{index:03d}", random_source.token_urlsafe(12), content_type="text/plain"
            )
    seed.service.faults.latency_ms = 40  # a page of the listing takes as long as on a far network
    total = len(secret_names(seed))
    paints = []  # (rows, rows with a version count, audit still running) each time rows go to the browser
    paint = TableView._paint

    def recording(view):
        sends = view.active and view._shown is not None and (view.table is None or view._stale)
        paint(view)
        if sends and view.spec.key == "secrets":
            paints.append((len(view.rows), int(view.rows["version_count"].notna().sum()), panel.audit is None))

    monkeypatch.setattr(TableView, "_paint", recording)
    panel = VaultPanel("local", persona="lead", start=False)
    future = panel.refresh()
    panel.wait(120)
    assert future.done()
    first_rows, first_counts, first_before_end = paints[0]
    assert first_before_end and 0 < first_rows < total and first_counts == 0  # the first page, no counts yet
    assert paints[-1][:2] == (total, total)  # every count, at the end
    assert panel.table("secrets")["version_count"].notna().all() and panel.audit is not None
    assert any(before_end and rows == total for rows, _, before_end in paints)  # the full listing before the end
    assert len(paints) <= 12  # not one paint per progress report


def test_a_tabs_table_is_made_when_the_tab_is_first_shown(seed, open_panels):
    panel = open_panels("local", persona="lead")
    panel.wait(60)
    assignments = panel.views["role_assignments"]
    assert panel.views["secrets"].table is not None and assignments.table is None
    assert assignments.row_count > 0  # its rows are ready (filter, export, selection work)
    panel.tabs.selected_index = 1
    assert len(json.loads(assignments.table._dt_args["data_json"])) == assignments.row_count
    assert assignments.table_box.layout.display is None


def test_from_audit_paints_everything_at_once(seed):
    audit = audit_vault("local", persona="lead")
    panel = VaultPanel.from_audit(audit)
    assert panel.views["secrets"].row_count == len(audit.tables.secrets)
    assert panel.views["findings"].row_count == len(audit.findings) + len(audit.limitations)
    assert not panel.html_button.disabled and panel.last_refreshed is not None
    assert FIRST_VAULT in panel.title.value


# -- entry points ------------------------------------------------------------------------------------
def test_kvnb_panel_is_a_function_as_documented(seed, open_panels):
    made = kvnb.panel("local", persona="newmember")
    try:
        assert isinstance(made, VaultPanel) and made.persona == "newmember"
        assert made.wait(60).name == FIRST_VAULT
    finally:
        if made._future is not None:
            made._future.exception(timeout=60)
    assert kvnb.panel is kvnb.vaultpanel.panel and kvnb.vaultpanel.__all__ == sorted(kvnb.vaultpanel.__all__)


def test_a_bad_vault_name_fails_at_once(seed):
    from kvnb.vault import VaultNameError

    with pytest.raises(VaultNameError):
        kvnb.panel("not a vault!")


@pytest.fixture
def kvpanel_ip(ip):
    """The test shell with %kvpanel registered the way kvnb.magics.load should (see docs/panel.md)."""
    from kvnb.magics import KvMagics, kvpanel

    if "kvpanel" not in ip.magics_manager.magics["line"]:
        settings = next(c for c in ip.configurables if isinstance(c, KvMagics))
        kvpanel.register(ip, settings)
    yield ip
    kvpanel.unregister(ip)


def test_kvpanel_magic_returns_the_panel_for_the_vault_and_persona(kvpanel_ip):
    panel = run(kvpanel_ip, "%kvpanel local --persona newmember").result
    assert isinstance(panel, VaultPanel) and panel.persona == "newmember"
    assert panel.wait(60).tables.reviews is None
    run(kvpanel_ip, "%config KvMagics.persona = 'lead'")
    by_config = run(kvpanel_ip, "%kvpanel").result  # the vault from KVNB_VAULT, the persona from %config
    assert by_config.persona == "lead" and by_config.wait(60).tables.reviews is not None


def test_kvpanel_magic_errors_are_short_usage_errors(kvpanel_ip):
    with pytest.raises(UsageError, match="not a vault name"):
        run(kvpanel_ip, "%kvpanel bad_vault_name!")
    with pytest.raises(UsageError):
        run(kvpanel_ip, "%kvpanel local --persona nobody-such")


def test_a_failed_audit_is_said_in_the_panel_and_raised_by_wait(monkeypatch):
    from concurrent.futures import Future

    from kvnb.audit import AuditAccessError

    def failing_audit(vault, **options):
        failed = Future()
        failed.set_exception(AuditAccessError("Cannot audit azDevOpsKV01: the vault did not answer."))
        return failed

    monkeypatch.setattr("kvnb.vaultpanel.widget.start_audit", failing_audit)
    panel = VaultPanel("azDevOpsKV01")
    with pytest.raises(AuditAccessError):
        panel.wait(5)
    assert "Audit failed: Cannot audit azDevOpsKV01" in panel.status.value
    assert not panel.refresh_button.disabled and not panel.running
    assert panel.error.startswith("Cannot audit")
