"""The 60-day review status per group, from the seed's history, and the reviewer's actions that change it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from azure.core.exceptions import HttpResponseError

from kvnb.governance import (
    Limitation,
    ReviewNotFoundError,
    apply_review_decisions,
    complete_review,
    degrade,
    derive_status,
    record_decisions,
    review_decisions,
    review_status,
)
from kvnb.local.seed.scenario import FIRST_VAULT
from kvnb.vault import open_vault

ADMIN, READER, SEC, PIPELINE = (f"{FIRST_VAULT}_{s}" for s in ("admin", "reader", "secAccess", "pipeline"))
DAY = 86400


@pytest.fixture
def lead(governed_vault):
    target = open_vault("local", persona="lead")
    yield target
    target.close()
    target.credential.close()


def vault_now(vault) -> datetime:
    return datetime.fromtimestamp(vault.store.now(), tz=timezone.utc)


def statuses(frame: pd.DataFrame) -> dict[str, str]:
    return dict(zip(frame["group_name"], frame["status"]))


def test_fresh_seed_statuses_are_exactly_as_seeded(lead):
    frame = review_status(lead)
    assert statuses(frame) == {ADMIN: "ok", READER: "overdue", SEC: "not_applied", PIPELINE: "no_review"}
    row = frame.set_index("group_name")
    assert row.loc[SEC, "pending_denies"] == 1
    assert row.loc[SEC, "not_reviewed_share"] == pytest.approx(1 / 3)  # the leaver was never decided
    assert row.loc[SEC, "roles"] == "Key Vault Secrets User"
    assert row.loc[READER, "open_instance_id"] and row.loc[READER, "days_left"] < 0
    assert row.loc[ADMIN, "recurrence"] == "absoluteMonthly/2"
    assert str(frame["last_completed"].dt.tz) == "UTC" and str(frame["next_due"].dt.tz) == "UTC"
    assert pd.isna(row.loc[PIPELINE, "next_due"])
    assert (row.loc[ADMIN, "next_due"] - row.loc[ADMIN, "last_completed"]) == pd.Timedelta(days=60)


def test_about_eight_weeks_on_the_admin_review_is_due(governed_vault, lead):
    governed_vault.admin("clock", {"advance_seconds": 56 * DAY})
    frame = review_status(lead, now=vault_now(governed_vault))
    assert statuses(frame)[ADMIN] == "due"
    assert 0 < frame.set_index("group_name").loc[ADMIN, "days_left"] <= 7
    wider = review_status(lead, now=vault_now(governed_vault), warning_days=1)
    assert statuses(wider)[ADMIN] == "ok"  # the warning margin is a setting


def test_approving_everyone_and_completing_makes_the_overdue_group_ok(governed_vault, lead):
    open_decisions = review_decisions(lead, READER)
    assert set(open_decisions["decision"]) == {"Approve", "NotReviewed"}
    changed = record_decisions(lead, READER, "Approve", justification="still on the team", only_not_reviewed=True)
    assert changed == (open_decisions["decision"] == "NotReviewed").sum() == 5
    assert set(review_decisions(lead, READER)["decision"]) == {"Approve"}
    complete_review(lead, READER)
    frame = review_status(lead, now=vault_now(governed_vault))
    assert statuses(frame)[READER] == "ok"
    row = frame.set_index("group_name").loc[READER]
    assert row["not_reviewed_share"] == 0 and row["days_left"] == pytest.approx(60, abs=0.01)
    with pytest.raises(ReviewNotFoundError):
        complete_review(lead, READER)  # nothing open any more


def test_applying_the_deny_removes_the_contractor_and_their_next_read_fails(governed_vault, lead):
    assert governed_vault.secret_client("contractor").get_secret("APICaller").value
    applied = apply_review_decisions(lead, SEC)
    results = dict(zip(applied["principal_name"], applied["apply_result"]))
    assert results["External Contractor"] == "AppliedSuccessfully"
    assert results["Former Team Member"] == "New"  # never decided, so nothing to apply
    with pytest.raises(HttpResponseError) as info:
        governed_vault.secret_client("contractor").get_secret("APICaller")
    assert info.value.status_code == 403
    assert statuses(review_status(lead, now=vault_now(governed_vault)))[SEC] == "ok"


def test_reviews_table_degrades_to_a_limitation_without_permission(governed_vault):
    member = open_vault("local", persona="member")
    try:
        result = degrade("reviews", review_status, member)
    finally:
        member.close()
        member.credential.close()
    assert isinstance(result, Limitation)
    assert result.permission == "AccessReview.Read.All"
    assert "reviewer" in result.fix and str(result).startswith("access reviews: not available.")


def test_only_reviewers_record_decisions(governed_vault):
    from kvnb.governance import MissingGraphPermissionError

    backup = open_vault("local", persona="backup")
    try:
        with pytest.raises(MissingGraphPermissionError) as info:
            record_decisions(backup, READER, "Approve")
    finally:
        backup.close()
        backup.credential.close()
    assert "reviewer" in str(info.value)


# -- the derivation itself, on hand-made Graph documents ---------------------------------------------------
NOW = pd.Timestamp("2025-06-30T12:00:00Z")


def definition(created_days_ago: float, auto_apply: bool = False) -> dict:
    created = (NOW - timedelta(days=created_days_ago)).isoformat()
    return {
        "id": "d1",
        "displayName": "review",
        "createdDateTime": created,
        "settings": {
            "autoApplyDecisionsEnabled": auto_apply,
            "recurrence": {"pattern": {"type": "absoluteMonthly", "interval": 2}},
        },
    }


def instance(status: str, ended_days_ago: float | None) -> dict:
    end = None if ended_days_ago is None else (NOW - timedelta(days=ended_days_ago)).isoformat()
    return {"id": f"i-{status}-{ended_days_ago}", "status": status, "endDateTime": end}


@pytest.mark.parametrize(
    "definitions, instances, decisions, expected",
    [
        ([], [], [], "no_review"),
        ([definition(90)], [], [], "overdue"),  # none completed, set up 90 d ago
        ([definition(30)], [], [], "ok"),
        ([definition(200)], [instance("Applied", 61)], [], "overdue"),
        ([definition(200)], [instance("Applied", 61), instance("InProgress", None)], [], "overdue"),  # overdue first
        ([definition(200)], [instance("Completed", 20), instance("InProgress", None)], [], "in_progress"),
        ([definition(200)], [instance("Applying", 53)], [], "due"),  # 7 days left
        ([definition(200)], [instance("Applied", 52)], [], "ok"),
        ([definition(200)], [instance("Completed", 10)], [{"decision": "Deny", "applyResult": "New"}], "not_applied"),
        (
            [definition(200, auto_apply=True)],
            [instance("Completed", 10)],
            [{"decision": "Deny", "applyResult": "New"}],
            "ok",
        ),
        ([definition(200)], [instance("SomethingNew", 10), instance("Completed", 30)], [], "ok"),  # unknown tolerated
    ],
)
def test_derivation_first_match_wins(definitions, instances, decisions, expected):
    assert derive_status(definitions, instances, decisions, now=NOW)["status"] == expected


def test_without_arm_read_access_the_table_degrades_too(governed_vault):
    outsider = open_vault("local", persona="aad-team")  # no role on the vault at all
    try:
        result = degrade("reviews", review_status, outsider)
    finally:
        outsider.close()
        outsider.credential.close()
    assert isinstance(result, Limitation)
    assert result.permission == "Microsoft.Authorization/roleAssignments/read"
    assert result.fix.startswith("Ask")
