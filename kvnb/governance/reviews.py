"""Access reviews of the groups that hold roles on a vault: the 60-day status, decisions, applying them.

Entra cannot schedule a review every 60 days (the closest is ``absoluteMonthly`` with interval 2,
59–62 days), so kvnb judges the cycle itself (audit-checks.md §2), first match wins:

=============  ======================================================================================
no_review      no review definition scopes the group
overdue        more than *cycle_days* since the last completed instance ended (since the definition
               was created, if none has completed)
in_progress    an instance is ``InProgress``
due            the cycle closes within *warning_days*
not_applied    the last completed instance has ``Deny`` decisions still ``New`` and auto-apply is off
ok             otherwise
=============  ======================================================================================

"Completed" means ``Completed``, ``Applying`` or ``Applied``; unknown statuses are tolerated. Times
are judged by the service's clock (Graph's ``Date`` header) unless *now* is given.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd
from azure.core.exceptions import ResourceExistsError

from kvnb.access.graph_principals import find_group
from kvnb.graph import GraphClient, GraphPermissionError, graph_for

from .errors import GovernanceError, ReviewNotFoundError, permission_error

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

CYCLE_DAYS = 60
WARNING_DAYS = 7
COMPLETED = frozenset({"Completed", "Applying", "Applied"})
STATUSES = ("no_review", "overdue", "in_progress", "due", "not_applied", "ok")
DEFINITIONS = "/identityGovernance/accessReviews/definitions"
_GROUP_QUERY = re.compile(r"^/groups/([0-9a-fA-F-]{36})/(?:transitiveMembers|members)$", re.IGNORECASE)
STATUS_COLUMNS = (
    "group_id",
    "group_name",
    "roles",
    "status",
    "reason",
    "definition_id",
    "definition_name",
    "recurrence",
    "auto_apply",
    "last_completed",
    "next_due",
    "days_left",
    "open_instance_id",
    "not_reviewed_share",
    "pending_denies",
)
DECISION_COLUMNS = (
    "decision_id",
    "principal_id",
    "principal_name",
    "principal_type",
    "user_principal_name",
    "decision",
    "recommendation",
    "justification",
    "reviewed_by",
    "reviewed_on",
    "apply_result",
    "applied_on",
)


def _time(text: str | None) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC") if text else pd.NaT


def _utc(when) -> pd.Timestamp:
    stamp = pd.Timestamp(when)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def scoped_group(scope: dict | None) -> str | None:
    """The group id in a review scope ``/groups/{id}/transitiveMembers`` (or ``/members``)."""
    match = _GROUP_QUERY.match(str((scope or {}).get("query", "")))
    return match[1].lower() if match else None


# -- the status, as a pure function -----------------------------------------------------------------------
def derive_status(
    definitions: list[dict],
    instances: list[dict],
    last_decisions: list[dict],
    *,
    now,
    cycle_days: int = CYCLE_DAYS,
    warning_days: int = WARNING_DAYS,
) -> dict:
    """One group's status from its definitions, their instances and the last completed one's decisions."""
    now = _utc(now)
    row = {
        "status": "no_review",
        "reason": "No access review covers this group.",
        "definition_id": None,
        "definition_name": None,
        "recurrence": None,
        "auto_apply": None,
        "last_completed": pd.NaT,
        "next_due": pd.NaT,
        "days_left": None,
        "open_instance_id": None,
        "not_reviewed_share": None,
        "pending_denies": 0,
    }
    if not definitions:
        return row
    first = definitions[0]
    pattern = ((first.get("settings") or {}).get("recurrence") or {}).get("pattern") or {}
    completed = [i for i in instances if i.get("status") in COMPLETED and i.get("endDateTime")]
    last = max((_time(i["endDateTime"]) for i in completed), default=pd.NaT)
    anchor = last if not pd.isna(last) else min(_time(d.get("createdDateTime")) for d in definitions)
    next_due = anchor + timedelta(days=cycle_days)
    auto_apply = any((d.get("settings") or {}).get("autoApplyDecisionsEnabled") for d in definitions)
    pending = sum(1 for d in last_decisions if d.get("decision") == "Deny" and d.get("applyResult") in (None, "New"))
    open_instance = next((i for i in instances if i.get("status") == "InProgress"), None)
    row.update(
        definition_id=first.get("id"),
        definition_name=first.get("displayName"),
        recurrence=f"{pattern['type']}/{pattern.get('interval', 1)}" if pattern.get("type") else None,
        auto_apply=auto_apply,
        last_completed=last,
        next_due=next_due,
        days_left=(next_due - now) / timedelta(days=1),
        open_instance_id=open_instance and open_instance["id"],
        not_reviewed_share=(sum(d.get("decision") == "NotReviewed" for d in last_decisions) / len(last_decisions))
        if last_decisions
        else None,
        pending_denies=pending,
    )
    since = "the last review ended" if not pd.isna(last) else "the review was set up"
    if now > next_due:
        row.update(status="overdue", reason=f"More than {cycle_days} days since {since}.")
    elif open_instance is not None:
        row.update(status="in_progress", reason="A review is open.")
    elif next_due - now <= timedelta(days=warning_days):
        row.update(status="due", reason=f"The {cycle_days}-day cycle closes within {warning_days} days.")
    elif not pd.isna(last) and not auto_apply and pending:
        row.update(status="not_applied", reason=f"{pending} denied member(s) still hold access: apply the decisions.")
    else:
        row.update(status="ok", reason="Reviewed within the cycle.")
    return row


# -- reading Graph -----------------------------------------------------------------------------------------------
def _list(client: GraphClient, path: str, **kwargs) -> list[dict]:
    try:
        return list(client.list(path, **kwargs))
    except GraphPermissionError as exc:
        raise permission_error(exc, "reviews") from None


def _definitions_by_group(client: GraphClient) -> dict[str, list[dict]]:
    by_group: dict[str, list[dict]] = {}
    for definition in _list(client, DEFINITIONS):
        group = scoped_group(definition.get("scope"))
        if group:
            by_group.setdefault(group, []).append(definition)
    for found in by_group.values():
        found.sort(key=lambda d: d.get("createdDateTime") or "")
    return by_group


def _instances(client: GraphClient, definitions: list[dict]) -> list[dict]:
    found = []
    for definition in definitions:
        for instance in _list(client, f"{DEFINITIONS}/{definition['id']}/instances"):
            found.append({**instance, "_definition": definition["id"]})
    return found


def _last_completed(instances: list[dict]) -> dict | None:
    done = [i for i in instances if i.get("status") in COMPLETED and i.get("endDateTime")]
    return max(done, key=lambda i: _time(i["endDateTime"])) if done else None


def _decisions(client: GraphClient, instance: dict) -> list[dict]:
    return _list(client, f"{DEFINITIONS}/{instance['_definition']}/instances/{instance['id']}/decisions", top=999)


def role_holding_groups(target: VaultTarget) -> dict[str, list[str]]:
    """Group object id → names of the roles it holds on the vault (at, above or below it).

    Needs ``Microsoft.Authorization/roleAssignments/read`` at the vault (Key Vault Reader).

    :raises kvnb.errors.PermissionMissingError: ARM refused the read (403).
    """
    from kvnb.access import ids_only_resolver, list_role_assignments

    frame = list_role_assignments(target, resolver=ids_only_resolver())
    groups: dict[str, list[str]] = {}
    for row in frame[frame["principal_type"] == "Group"].itertuples():
        roles = groups.setdefault(row.principal_id.lower(), [])
        name = row.role_name or row.role_id
        if name not in roles:
            roles.append(name)
    return groups


def review_status(
    target: VaultTarget,
    *,
    groups: dict[str, list[str]] | None = None,
    now: datetime | None = None,
    cycle_days: int = CYCLE_DAYS,
    warning_days: int = WARNING_DAYS,
    graph: GraphClient | None = None,
) -> pd.DataFrame:
    """One row per group holding a role on the vault (or per id in *groups*), `STATUS_COLUMNS`.

    *groups* maps group ids to role names; by default they come from the vault's role assignments.

    Needs ``AccessReview.Read.All`` (and ``Microsoft.Authorization/roleAssignments/read`` at the vault
    unless *groups* is given).

    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403); `degrade` turns it into a
        `Limitation`.
    :raises kvnb.errors.PermissionMissingError: the vault's assignments could not be read.
    """
    groups = role_holding_groups(target) if groups is None else {g.lower(): list(r) for g, r in groups.items()}
    rows = []
    with graph_for(target, graph) as client:
        by_group = _definitions_by_group(client)
        names = _group_names(target, client, list(groups))
        when = _utc(now) if now is not None else _utc(client.service_time())
        for group_id, roles in groups.items():
            definitions = by_group.get(group_id, [])
            instances = _instances(client, definitions)
            last = _last_completed(instances)
            decisions = _decisions(client, last) if last else []
            status = derive_status(
                definitions, instances, decisions, now=when, cycle_days=cycle_days, warning_days=warning_days
            )
            rows.append({"group_id": group_id, "group_name": names.get(group_id), "roles": ", ".join(roles), **status})
    frame = pd.DataFrame(rows, columns=list(STATUS_COLUMNS))
    for column in ("last_completed", "next_due"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.sort_values("group_name", key=lambda s: s.str.lower(), ignore_index=True) if rows else frame


def _group_names(target: VaultTarget, client: GraphClient, ids: list[str]) -> dict[str, str | None]:
    from kvnb.access.graph_principals import get_principals

    return {i: p.display_name for i, p in get_principals(target, ids, graph=client).items()}


# -- one group's review: decisions, completing, applying ---------------------------------------------------------
def _instance_for(client: GraphClient, group_id: str, which: str) -> dict:
    definitions = _definitions_by_group(client).get(group_id, [])
    if not definitions:
        raise ReviewNotFoundError(
            "No access review covers this group. Create one in Entra (Identity Governance → "
            "Access reviews) with the group's members as scope."
        )
    instances = _instances(client, definitions)
    if which == "open":
        found = next((i for i in instances if i.get("status") == "InProgress"), None)
    elif which == "last_completed":
        found = _last_completed(instances)
    else:
        found = next((i for i in instances if i["id"].lower() == which.lower()), None)
    if found is None:
        raise ReviewNotFoundError(f"The group's review has no {which.replace('_', ' ')} instance.", instance=which)
    return found


def _decision_rows(items: list[dict]) -> pd.DataFrame:
    rows = []
    for d in items:
        principal = d.get("principal") or {}
        kind = str(principal.get("@odata.type", "")).rsplit(".", 1)[-1]
        rows.append(
            {
                "decision_id": d["id"],
                "principal_id": principal.get("id"),
                "principal_name": principal.get("displayName"),
                "principal_type": {"userIdentity": "User", "servicePrincipalIdentity": "ServicePrincipal"}.get(
                    kind, kind
                ),
                "user_principal_name": principal.get("userPrincipalName"),
                "decision": d.get("decision"),
                "recommendation": d.get("recommendation"),
                "justification": d.get("justification"),
                "reviewed_by": (d.get("reviewedBy") or {}).get("displayName") or None,
                "reviewed_on": d.get("reviewedDateTime"),
                "apply_result": d.get("applyResult"),
                "applied_on": d.get("appliedDateTime"),
            }
        )
    frame = pd.DataFrame(rows, columns=list(DECISION_COLUMNS))
    for column in ("reviewed_on", "applied_on"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def review_decisions(
    target: VaultTarget, group: str, *, instance: str = "open", graph: GraphClient | None = None
) -> pd.DataFrame:
    """Decisions of the group's open instance (``"last_completed"``, or an instance id), `DECISION_COLUMNS`.

    Needs ``AccessReview.Read.All``, or to be a reviewer of the group's review.

    :raises kvnb.errors.GroupNotFoundError: no such group.
    :raises kvnb.errors.ReviewNotFoundError: no review, or no such instance.
    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403).
    """
    with graph_for(target, graph) as client:
        group_id = find_group(target, group, graph=client).id
        return _decision_rows(_decisions(client, _instance_for(client, group_id, instance)))


def latest_review_decisions(
    target: VaultTarget, group: str, *, graph: GraphClient | None = None
) -> tuple[pd.DataFrame, str]:
    """The decisions of the group's open review, else of its last completed one, and which it was
    (``"open"`` or ``"last completed"``). Needs and raises what `review_decisions` does."""
    try:
        return review_decisions(target, group, graph=graph), "open"
    except ReviewNotFoundError as exc:
        if exc.instance != "open":  # no review at all: nothing completed to show either
            raise
        return review_decisions(target, group, instance="last_completed", graph=graph), "last completed"


def _write(call, table: str = "review_decisions"):
    try:
        return call()
    except GraphPermissionError as exc:
        raise permission_error(exc, table) from None
    except ResourceExistsError as exc:
        raise GovernanceError(getattr(exc.error, "message", None) or str(exc)) from None


def record_decisions(
    target: VaultTarget,
    group: str,
    decision: str,
    *,
    principals: list[str] | None = None,
    justification: str | None = None,
    only_not_reviewed: bool = False,
    graph: GraphClient | None = None,
) -> int:
    """Record *decision* (Approve, Deny, DontKnow) in the group's open review; returns how many.

    *principals* limits it to these object ids, user principal names or display names; with
    *only_not_reviewed* decisions already made stay as they are.

    Needs to be a reviewer of the group's review.

    :raises ValueError: *decision* is not one Graph takes.
    :raises kvnb.errors.GroupNotFoundError: no such group.
    :raises kvnb.errors.ReviewNotFoundError: no open review, or none of *principals* is in it.
    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403).
    """
    if decision not in ("Approve", "Deny", "DontKnow", "NotReviewed"):
        raise ValueError("decision must be Approve, Deny, DontKnow or NotReviewed.")
    wanted = {p.lower() for p in principals} if principals is not None else None
    with graph_for(target, graph) as client:
        group_id = find_group(target, group, graph=client).id
        instance = _instance_for(client, group_id, "open")
        base = f"{DEFINITIONS}/{instance['_definition']}/instances/{instance['id']}/decisions"
        count = 0
        for item in _decision_rows(_decisions(client, instance)).itertuples():
            names = {str(v).lower() for v in (item.principal_id, item.user_principal_name, item.principal_name) if v}
            if (wanted is not None and not names & wanted) or (only_not_reviewed and item.decision != "NotReviewed"):
                continue
            body = {"decision": decision, "justification": justification}
            _write(lambda item=item, body=body: client.patch(f"{base}/{item.decision_id}", body))
            count += 1
        if wanted is not None and count == 0:
            raise ReviewNotFoundError("None of those principals is in the group's open review.")
        return count


def complete_review(target: VaultTarget, group: str, *, graph: GraphClient | None = None) -> None:
    """Stop the group's open review instance now (its decisions become final).

    Needs to be a reviewer, or an Identity Governance Administrator.

    :raises kvnb.errors.GroupNotFoundError: no such group.
    :raises kvnb.errors.ReviewNotFoundError: no open review.
    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403).
    """
    with graph_for(target, graph) as client:
        instance = _instance_for(client, find_group(target, group, graph=client).id, "open")
        _write(lambda: client.post(f"{DEFINITIONS}/{instance['_definition']}/instances/{instance['id']}/stop"))


def apply_review_decisions(target: VaultTarget, group: str, *, graph: GraphClient | None = None) -> pd.DataFrame:
    """Apply the last completed instance's decisions (denied members leave the group); returns them.

    Needs to be a reviewer, or an Identity Governance Administrator.

    :raises kvnb.errors.GroupNotFoundError: no such group.
    :raises kvnb.errors.ReviewNotFoundError: no completed review.
    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403).
    """
    with graph_for(target, graph) as client:
        instance = _instance_for(client, find_group(target, group, graph=client).id, "last_completed")
        path = f"{DEFINITIONS}/{instance['_definition']}/instances/{instance['id']}"
        _write(lambda: client.post(f"{path}/applyDecisions"))
        return _decision_rows(_decisions(client, instance))
