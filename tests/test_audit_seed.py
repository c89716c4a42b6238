"""The audit on the seed: each planted problem gives its finding, and fixing it makes it go away.

Every case audits a fresh seeded vault as the lead, checks the planted object is reported, fixes
it the way a team would (an expiry, a new version, removing an assignment, completing a review),
audits again and checks it is gone. Fixes the local vault's APIs cannot make are made in its
store, as noted per case: purge protection (the local ARM has no vault PUT), group membership
(no Graph member removal), and the lead's own Data Access Administrator assignment (its ABAC
condition forbids removing that role through ARM, as on Azure).
"""

from __future__ import annotations

import secrets as random_source
from datetime import datetime, timedelta, timezone

import pytest

from kvnb.audit import audit_vault
from kvnb.local.seed.scenario import FIRST_VAULT
from kvnb.local.state.directory import Directory

DAY = timedelta(days=1)


@pytest.fixture
def seed(local_vault, monkeypatch):
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    monkeypatch.delenv("KVNB_PERSONA", raising=False)
    return local_vault


@pytest.fixture
def lead_target(seed):
    from kvnb.vault import open_vault

    target = open_vault("local", persona="lead")
    yield target
    target.close()
    target.credential.close()  # its idle keep-alive socket would hold up the server's shutdown


def affected(audit, check: str) -> tuple[str, ...]:
    return next((f.affected for f in audit.findings if f.id == check), ())


def mentions(audit, check: str, marker: str) -> bool:
    return any(marker in item for item in affected(audit, check))


def soon(days: int) -> datetime:
    return datetime.now(timezone.utc) + days * DAY


# -- fixes ---------------------------------------------------------------------------------------------
def set_expiry(name: str, days: int):
    def fix(vault, target):
        vault.secret_client("lead").update_secret_properties(name, expires_on=soon(days))

    return fix


def rotate(name: str, *, expires_in: int | None = None, content_type: str = "text/plain"):
    def fix(vault, target):
        vault.secret_client("lead").set_secret(
            name,
            random_source.token_urlsafe(24),
            content_type=content_type,
            expires_on=soon(expires_in) if expires_in else None,
        )

    return fix


def set_content_type(vault, target):
    vault.secret_client("lead").update_secret_properties("ServicePrincipalSecret", content_type="text/plain")


def delete_disabled_secret(vault, target):
    vault.secret_client("lead").begin_delete_secret("LegacyFtpPassword").wait()


def purge_protection_on(vault, target):
    # The local ARM serves no vault PUT: switch it on in the store, as `az keyvault update` would on Azure.
    with vault.store.transaction() as db:
        db.execute("UPDATE vaults SET purge_protection = 1 WHERE name = ?", (FIRST_VAULT,))


def remove_direct_assignment(vault, target):
    shortcut = Directory(vault.store).principal_by_handle("shortcut")
    client = target.authorization_client
    for item in client.role_assignments.list_for_scope(target.resource_id, filter=f"principalId eq '{shortcut.id}'"):
        client.role_assignments.delete(item.scope, item.name)


def leave_groups(handle: str):
    def fix(vault, target):
        directory = Directory(vault.store)
        person = directory.principal_by_handle(handle)
        for group in directory.groups_of(person.id):
            directory.remove_member(group.id, person.id)

    return fix


def drop_role_writing_assignment(vault, target):
    from kvnb.local.identity import roles
    from kvnb.local.state.assignments import delete_assignment, list_assignments

    lead = Directory(vault.store).principal_by_handle("lead")
    for record in list_assignments(vault.store):
        if record.principal_id == lead.id and record.role_definition_id == roles.KEY_VAULT_DATA_ACCESS_ADMINISTRATOR:
            delete_assignment(vault.store, record.name)


def complete_reader_review(vault, target):
    from kvnb.governance.reviews import complete_review, record_decisions

    record_decisions(target, f"{FIRST_VAULT}_reader", "Approve")
    complete_review(target, f"{FIRST_VAULT}_reader")


def apply_sec_access_decisions(vault, target):
    from kvnb.governance.reviews import apply_review_decisions

    apply_review_decisions(target, f"{FIRST_VAULT}_secAccess")


def create_pipeline_review(vault, target):
    from kvnb.graph import GraphClient

    directory = Directory(vault.store)
    group = directory.principal_by_handle(f"{FIRST_VAULT}_pipeline")
    lead = directory.principal_by_handle("lead")
    with GraphClient.from_target(target) as graph:
        graph.post(
            "/identityGovernance/accessReviews/definitions",
            {
                "displayName": "Pipeline group, every 2 months",
                "scope": {"query": f"/groups/{group.id}/transitiveMembers", "queryType": "MicrosoftGraph"},
                "reviewers": [{"query": f"/users/{lead.id}", "queryType": "MicrosoftGraph"}],
                "settings": {
                    "instanceDurationInDays": 14,
                    "recurrence": {
                        "pattern": {"type": "absoluteMonthly", "interval": 2},
                        "range": {"type": "noEnd", "startDate": datetime.now(timezone.utc).date().isoformat()},
                    },
                },
            },
        )


# (check, planted object, fix, the check's other planted objects that may remain)
CASES = [
    ("S1", "DbConnectionString", set_expiry("DbConnectionString", 30), False),
    ("S2", "ServicePrincipalSecret", rotate("ServicePrincipalSecret", expires_in=90), True),
    ("S3", "DbConnectionString", rotate("DbConnectionString"), True),
    ("S4", "StorageAccountKey", set_expiry("StorageAccountKey", 200), False),
    ("S5", "ServicePrincipalSecret", set_content_type, False),
    ("S6", "PartnerSftpPassword: expired", set_expiry("PartnerSftpPassword", 60), True),
    ("S6", "LegacyFtpPassword: disabled", delete_disabled_secret, True),
    ("V3", FIRST_VAULT, purge_protection_on, False),
    ("R2", "Developer With Direct Access", remove_direct_assignment, True),
    ("R4", "External Contractor", leave_groups("contractor"), False),
    ("R5", "Former Team Member", leave_groups("leaver"), False),
    ("R7", "Team Lead", drop_role_writing_assignment, False),
    ("P4", f"{FIRST_VAULT}_reader (Group): overdue", complete_reader_review, True),
    ("P4", f"{FIRST_VAULT}_secAccess (Group): not_applied", apply_sec_access_decisions, True),
    ("P4", f"{FIRST_VAULT}_pipeline (Group): no_review", create_pipeline_review, True),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "check, marker, fix, others_remain", CASES, ids=[f"{c}-{m.split(':')[0].split(' ')[0]}" for c, m, _, _ in CASES]
)
def test_fixing_a_planted_problem_clears_its_finding(seed, lead_target, check, marker, fix, others_remain):
    before = audit_vault(lead_target)
    assert mentions(before, check, marker), affected(before, check)
    fix(seed, lead_target)
    after = audit_vault(lead_target)
    assert not mentions(after, check, marker), affected(after, check)
    if not others_remain:
        assert check not in {f.id for f in after.findings}


def test_the_seed_shows_every_planted_problem(seed, lead_target, monkeypatch):
    from azure.keyvault.secrets import SecretClient
    from azure.keyvault.secrets.aio import SecretClient as AsyncSecretClient

    def never(*args, **kwargs):
        raise AssertionError("an audit must never read a secret value")

    monkeypatch.setattr(AsyncSecretClient, "get_secret", never)
    monkeypatch.setattr(SecretClient, "get_secret", never)
    audit = audit_vault(lead_target)
    expected = {
        "S1": "DbConnectionString",
        "S3": "ServicePrincipalSecret",
        "S4": "StorageAccountKey",
        "S5": "ServicePrincipalSecret",
        "V3": FIRST_VAULT,
        "R2": "Developer With Direct Access",
        "R4": "External Contractor",
        "R5": "Former Team Member",
        "R7": "Team Lead: Key Vault Data Access Administrator",
        "P3": "External Contractor",
    }
    for check, marker in expected.items():
        assert mentions(audit, check, marker), (check, affected(audit, check))
    assert mentions(audit, "S6", "PartnerSftpPassword: expired") and mentions(
        audit, "S6", "LegacyFtpPassword: disabled"
    )
    statuses = set(affected(audit, "P4"))
    assert statuses == {
        f"{FIRST_VAULT}_reader (Group): overdue",
        f"{FIRST_VAULT}_secAccess (Group): not_applied",
        f"{FIRST_VAULT}_pipeline (Group): no_review",
    }
    reviews = audit.tables.reviews.set_index("group")["status"].to_dict()
    assert reviews[f"{FIRST_VAULT}_admin"] == "ok"
    secrets = audit.tables.secrets.set_index("name")
    assert secrets.loc["APICaller", "version_count"] == 3 and secrets.loc["WebhookSigningKey", "version_count"] == 2
    assignments = audit.tables.role_assignments
    via_reader = assignments[assignments["via_group"] == f"{FIRST_VAULT}_reader"]
    assert len(via_reader) == 7 and set(via_reader["group_member_count"]) == {7}
    # The lead may read everything here: only what the local vault does not serve (diagnostic
    # settings, Defender pricing, sign-in activity) remains a limitation.
    assert {lim.source for lim in audit.limitations} == {"diagnostics", "defender", "sign_ins"}


def test_start_audit_reports_progress_from_the_background(seed, lead_target):
    from kvnb.audit import start_audit

    events = []
    future = start_audit(lead_target, on_progress=events.append)
    audit = future.result(timeout=60)
    stages = [event.stage for event in events]
    assert {"secrets_first_page", "vault", "role_assignments", "reviews", "versions"} <= set(stages)
    first = events[stages.index("secrets_first_page")]
    assert first.tables.secrets is not None and len(first.tables.secrets) == 7
    assert stages[-1] == "versions" or stages.index("versions") > stages.index("secrets_first_page")
    assert audit.tables.secrets["version_count"].notna().all()
