"""kvnb.present: how a table reads wherever kvnb shows one (notebook, panel, HTML report, terminal).

Pure functions first; then the seed's real audit through the panel's tab frames, the HTML report
and `--output table`, none of which may show a float day count, a raw missing value or a long id
without its full value on hover.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from kvnb import present
from kvnb.audit import audit_vault, render
from kvnb.vaultpanel.views import TAB_KEYS, display_frame

GUID = "1a48c0e8-e5e6-4c4c-9a9a-0123456789ab"
SCOPE = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-devops/providers/"
    "Microsoft.KeyVault/vaults/azDevOpsKV01/secrets/APICaller"
)
POLICY = "/providers/Microsoft.Authorization/policyDefinitions/0b60c0b2-2dc2-4e1c-b5c9-abbed971de53"
RAW_MISSING = re.compile(r"\b(NaT|NaN|nan|None)\b|<NA>|&lt;NA&gt;")
FLOAT_DAYS = re.compile(r"\b\d+\.\d{3,}\b")


# -- cells ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "column", "text"),
    [
        (58.997812, "days_to_expiry", "59"),
        (-10.002188, "days_to_expiry", "-10"),
        (159.995764, "age_days", "160"),
        (np.float64(0.3333), "not_reviewed_share", "33%"),
        (3, "version_count", "3"),
        (1234.5, "bytes", "1,234.50"),
        (True, "enabled", "yes"),
        (np.bool_(False), "privileged", "no"),
        (None, "role", ""),
        (float("nan"), "days_to_expiry", ""),
        (pd.NaT, "expires", ""),
        (pd.NA, "n", ""),
        (np.nan, "x", ""),
        (pd.Timestamp("2026-12-03 18:50:59.123456", tz="UTC"), "created", "2026-12-03 18:50Z"),
        (datetime(2026, 12, 3, 19, 50, tzinfo=timezone.utc), "created", "2026-12-03 19:50Z"),
        (pd.Timestamp("2026-12-03 20:50", tz="Europe/Berlin"), "created", "2026-12-03 19:50Z"),
        (["Key Vault Reader", "Key Vault Secrets User"], "roles", "Key Vault Reader, Key Vault Secrets User"),
        ([], "roles", ""),
    ],
)
def test_a_cell_reads_as_people_write_it(value, column, text):
    assert present.cell_text(value, column) == text


@pytest.mark.parametrize(
    ("full", "short"),
    [
        (GUID, "1a48c0e8…"),
        ("a" * 32, "aaaaaaaa…"),  # a Key Vault version
        (SCOPE, "…/secrets/APICaller"),
        (POLICY, "…/policyDefinitions/0b60c0b2…"),
        ("azDevOpsKV01_secAccess", "azDevOpsKV01_secAccess"),
        ("R2", "R2"),
        ("/subscriptions/x", "/subscriptions/x"),
    ],
)
def test_long_ids_are_shortened_and_the_rest_left_alone(full, short):
    assert present.short_id(full) == short
    assert present.cell_text(full, "id", shorten=False) == full


def test_the_answer_comes_first():
    columns = [
        "assignment_id",
        "created_on",
        "reads_secret_values",
        "via_group",
        "scope_kind",
        "role",
        "principal_name",
    ]
    assert present.answer_first(columns) == [
        "principal_name",
        "role",
        "scope_kind",
        "via_group",
        "reads_secret_values",
        "assignment_id",
        "created_on",
    ]


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "assignment_id": [GUID, None],
            "role": ["Key Vault Secrets User", "Key Vault Reader"],
            "principal_name": ["Team Lead", None],
            "scope": [SCOPE, None],
            "days_to_expiry": [58.997812, np.nan],
            "created_on": [pd.Timestamp("2026-12-03 18:50:12", tz="UTC"), pd.NaT],
            "pending": pd.array([2, None], dtype="Int64"),
            "control": [f"Azure Policy {POLICY}", ""],
        }
    )


def test_html_shortens_ids_with_the_full_value_as_title_and_blanks_missing_cells():
    html = present.html_table(frame())
    assert f'title="{GUID}">1a48c0e8…</td>' in html
    assert f'title="{SCOPE}">…/secrets/APICaller</td>' in html
    assert "<th>principal name</th><th>role</th><th>scope</th>" in html  # answer first
    assert ">59</td>" in html and "2026-12-03 18:50Z" in html
    assert not RAW_MISSING.search(html) and not FLOAT_DAYS.search(html)


def test_text_wraps_long_cells_within_the_width():
    text = present.text_table(frame(), width=110)
    assert all(len(line) <= 110 for line in text.splitlines()), text
    assert len(text.splitlines()) > 4  # the Azure Policy id wrapped within its column
    assert text.splitlines()[0].split()[:2] == ["principal", "role"]
    assert not RAW_MISSING.search(text) and not FLOAT_DAYS.search(text)
    assert "1a48c0e8…" in text


def test_a_notebook_table_is_html_in_jupyter_and_text_in_a_terminal():
    from IPython.core.interactiveshell import InteractiveShell

    data, _ = InteractiveShell.instance().display_formatter.format(present.Table(frame()))
    assert "kvnb-table" in data["text/html"] and "<style>" in data["text/html"]
    assert re.match(r"principal name +role +scope", data["text/plain"])  # no terminal: headers on one line
    assert not RAW_MISSING.search(data["text/plain"] + data["text/html"])


# -- the seed's audit, as each surface shows it -----------------------------------------------------
@pytest.fixture
def seed_audit(governed_vault):
    return audit_vault("local", persona="lead")


def test_panel_tabs_report_and_terminal_show_no_raw_missing_value_or_float_day(seed_audit):
    tables = seed_audit.tables.as_dict()
    for key in TAB_KEYS[:-1]:
        shown = display_frame(key, tables[key])
        text = shown.to_csv(index=False)
        assert not RAW_MISSING.search(text), key
        assert not FLOAT_DAYS.search(text), key
    assignments = display_frame("role_assignments", tables["role_assignments"])
    assert list(assignments.columns[:5]) == ["principal", "role", "scope", "via", "reads values"]
    assert "User (guest)" in set(assignments["type"]) and "User (disabled)" in set(assignments["type"])

    html = render([seed_audit], "html")
    body = re.sub(r"<svg.*?</svg>", "", html, flags=re.S)
    assert not RAW_MISSING.search(body) and not FLOAT_DAYS.search(body)
    assert "+00:00" not in body.split("</p>", 1)[1]  # times in tables are short (the header keeps ISO)
    assert "@media print" in html and "max-width:1280px" in html
    assert 'title="' in body  # shortened ids carry the full value

    table = render([seed_audit], "table", width=100)
    assert all(len(line) <= 100 for line in table.splitlines() if " " in line.strip()), table


def test_a_reader_is_told_the_missing_review_permission_once(governed_vault):
    audit = audit_vault("local", persona="newmember")
    reason = audit.tables.unavailable["reviews"]
    assert reason.count("AccessReview.Read.All") == 1, reason
    assert reason.startswith("Access reviews need AccessReview.Read.All")
