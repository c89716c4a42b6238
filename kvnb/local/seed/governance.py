"""The seed's governance: access packages for the Key Vault groups and a history of access reviews.

Called by `scenario.reset` after the team exists. The lead is approver of every package and
reviewer of every review; the admin group holds the *Identity Governance Administrator* role.
The reviews recur ``absoluteMonthly`` with ``interval`` 2, the closest Entra comes to 60 days, and
their histories are laid out on the vault clock so that kvnb's 60-day status starts as:

* ``…_admin`` ``ok``: its last instance completed yesterday (``due`` about 8 weeks later);
* ``…_reader`` ``overdue``: its last completed instance ended ~70 days ago; one is open now;
* ``…_secAccess`` ``not_applied``: completed 18 days ago with a Deny for ``contractor`` never applied;
* ``…_pipeline`` ``no_review``: no definition covers it.

Also pending: ``newmember``'s request for the secAccess package (Key Vault Secrets User).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from ..graph import package_data as packages
from ..graph import review_data as reviews
from ..graph.access import GOVERNANCE_ADMINISTRATOR, grant_directory_role
from ..identity.roles import role_by_id
from ..state.directory import Directory
from ..state.store import Store

DAY = reviews.DAY
CATALOG = "Key Vault access"
PACKAGED_GROUPS = ("admin", "reader", "secAccess")


def _settings(duration_days: int, first_start: int) -> dict:
    return {
        "mailNotificationsEnabled": True,
        "reminderNotificationsEnabled": True,
        "justificationRequiredOnApproval": False,
        "defaultDecisionEnabled": False,
        "defaultDecision": "None",
        "instanceDurationInDays": duration_days,
        "autoApplyDecisionsEnabled": False,
        "recommendationsEnabled": True,
        "recurrence": {
            "pattern": {"type": "absoluteMonthly", "interval": 2, "dayOfMonth": 0},
            "range": {
                "type": "noEnd",
                "numberOfOccurrences": 0,
                "recurrenceTimeZone": None,
                "startDate": datetime.fromtimestamp(first_start, tz=timezone.utc).strftime("%Y-%m-%d"),
                "endDate": None,
            },
        },
    }


def _decide(
    store: Store,
    instance_id: str,
    reviewer: str,
    when: int,
    decision: str,
    *,
    only: set[str] | None = None,
    justification: str | None = None,
) -> None:
    with store.transaction() as db:
        for row in reviews.decisions(store, instance_id):
            if only is None or row["principal_id"] in only:
                db.execute(
                    "UPDATE graph_review_decisions SET decision = ?, justification = ?, reviewed_by = ?,"
                    " reviewed = ? WHERE id = ?",
                    (decision, justification, reviewer, when, row["id"]),
                )


def _mark_applied(store: Store, instance_id: str, reviewer: str) -> None:
    with store.transaction() as db:
        end = db.execute("SELECT end_time FROM graph_review_instances WHERE id = ?", (instance_id,)).fetchone()[0]
        db.execute(
            "UPDATE graph_review_decisions SET apply_result = 'AppliedSuccessfully', applied_by = ?,"
            " applied = ? WHERE instance_id = ? AND decision IN ('Approve', 'Deny')",
            (reviewer, end, instance_id),
        )
        db.execute("UPDATE graph_review_instances SET status = 'Applied', applied = ? WHERE id = ?", (end, instance_id))


class _Series:
    """One group's review definition and the instances the seed lays out for it."""

    def __init__(self, store: Store, group, lead, *, duration_days: int, first_start: int):
        self.store, self.group, self.lead = store, group, lead
        definition_id = reviews.create_definition(
            store,
            display_name=f"{group.display_name} membership review",
            group_id=group.id,
            reviewers=[{"query": f"/users/{lead.id}", "queryType": "MicrosoftGraph", "queryRoot": None}],
            settings=_settings(duration_days, first_start),
            created_by=lead.id,
            created=first_start - DAY,
            description_admins=f"Every two months the team lead confirms who still needs {group.display_name}.",
            description_reviewers="Approve people who still need this access; deny the others.",
        )
        self.definition = reviews.definition_row(store, definition_id)

    def instance(self, start: int, end: int, status: str) -> str:
        return reviews.create_instance(self.store, self.definition, start, end=end, status=status)

    def approved_and_applied(self, start: int, end: int) -> str:
        instance = self.instance(start, end, "Completed")
        _decide(self.store, instance, self.lead.id, end - DAY, "Approve")
        _mark_applied(self.store, instance, self.lead.id)
        return instance


def _seed_packages(store: Store, directory: Directory, groups: dict, lead, vault: str) -> dict[str, str]:
    from .scenario import GROUPS

    catalog_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"kvnb-local-catalog:{vault}"))
    ids = {}
    for suffix in PACKAGED_GROUPS:
        group = groups[suffix]
        role = role_by_id(GROUPS[suffix][0]).role_name
        ids[suffix], _ = packages.create_package(
            store,
            display_name=f"{group.display_name} ({role})",
            description=f"Membership of {group.display_name}, which holds {role} on {vault}.",
            group_id=group.id,
            approvers=[lead.id],
            catalog_id=catalog_id,
            catalog_name=CATALOG,
            created=store.now() - 400 * DAY,
        )
    return ids


def seed_governance(store: Store, directory: Directory) -> None:
    """Packages, the pending request and the review histories described in the module docstring."""
    from .scenario import FIRST_VAULT

    now = store.now()
    lead = directory.principal_by_handle("lead")
    groups = {
        suffix: directory.principal_by_handle(f"{FIRST_VAULT}_{suffix}") for suffix in ("admin", "reader", "secAccess")
    }
    grant_directory_role(store, GOVERNANCE_ADMINISTRATOR, groups["admin"].id)

    package_ids = _seed_packages(store, directory, groups, lead, FIRST_VAULT)
    newmember = directory.principal_by_handle("newmember")
    packages.create_request(
        store,
        newmember.id,
        {
            "requestType": "userAdd",
            "assignment": {"accessPackageId": package_ids["secAccess"]},
            "justification": "Joined the team this week; the partner API client needs APICaller.",
        },
        created=now - DAY,
    )

    # admin: completed yesterday, so `ok` now; its next instance starts two months after the last
    # one started (at least 59 days), so 56 days on the group is `due`, not yet `in_progress`.
    latest = now - 2 * DAY
    admin = _Series(store, groups["admin"], lead, duration_days=14, first_start=reviews.add_months(latest, -2))
    admin.approved_and_applied(reviews.add_months(latest, -2), reviews.add_months(latest, -2) + 14 * DAY)
    current = admin.instance(latest, now - DAY, "Completed")
    _decide(store, current, lead.id, now - DAY, "Approve")

    # reader: the previous instance was closed early ~70 days ago; the current one is open.
    open_start = now - 19 * DAY
    previous = reviews.add_months(open_start, -2)
    reader = _Series(store, groups["reader"], lead, duration_days=27, first_start=reviews.add_months(previous, -2))
    reader.approved_and_applied(reviews.add_months(previous, -2), reviews.add_months(previous, -2) + 27 * DAY)
    reader.approved_and_applied(previous, previous + 10 * DAY)
    current = reader.instance(open_start, open_start + 27 * DAY, "InProgress")
    backup = directory.principal_by_handle("backup")
    _decide(store, current, lead.id, now - 15 * DAY, "Approve", only={lead.id, backup.id})

    # secAccess: completed 18 days ago; the lead denied the contractor, nobody applied it, and the
    # leaver's decision was never made.
    last_start = now - 45 * DAY
    sec = _Series(store, groups["secAccess"], lead, duration_days=27, first_start=reviews.add_months(last_start, -2))
    sec.approved_and_applied(reviews.add_months(last_start, -2), reviews.add_months(last_start, -2) + 27 * DAY)
    last = sec.instance(last_start, last_start + 27 * DAY, "Completed")
    contractor = directory.principal_by_handle("contractor")
    _decide(store, last, lead.id, last_start + 20 * DAY, "Approve", only={directory.principal_by_handle("member").id})
    _decide(
        store,
        last,
        lead.id,
        last_start + 20 * DAY,
        "Deny",
        only={contractor.id},
        justification="The contract ended; external accounts should not read secret values.",
    )
