"""Access reviews of group membership: definitions, instances, decisions and their life cycle.

The life cycle follows Entra on the vault clock, advanced lazily by `refresh` whenever reviews are
read or changed:

* a definition's next instance starts when the previous one's start plus the recurrence
  (``absoluteMonthly`` or ``weekly``, times ``interval``) is reached, while the range allows;
  it lasts ``instanceDurationInDays`` and reviews the group's members as they are at that moment;
* an instance past its end becomes ``Completed`` (``stop`` completes it early and ends it then);
  with ``autoApplyDecisionsEnabled`` its decisions are applied at once;
* ``applyDecisions`` removes denied members from the group and marks each decision's
  ``applyResult``; the instance shows ``Applying`` for `APPLY_SECONDS`, then ``Applied``.

A recommendation is ``Deny`` for a disabled account, ``NoInfoAvailable`` for a guest and ``Approve``
otherwise (the local tenant has no sign-in log to base it on).
"""

from __future__ import annotations

import calendar
import json
import logging
import sqlite3
import uuid
from datetime import datetime, timezone

from ..state.directory import GROUP, Directory
from ..state.store import Store
from .common import GraphError, bad_request, field, not_found, parse_time

log = logging.getLogger("kvnb.local.graph")
DAY = 86400
APPLY_SECONDS = 1
COMPLETED = ("Completed", "Applying", "Applied")
DECISIONS = ("Approve", "Deny", "DontKnow", "NotReviewed")
DEFAULT_DURATION_DAYS = 14
MAX_NEW_INSTANCES = 200  # per refresh: a clock moved years ahead still ends the catch-up
SYSTEM_REVIEWER = "00000000-0000-0000-0000-000000000000"


# -- recurrence -------------------------------------------------------------------------------------
def add_months(timestamp: int, months: int) -> int:
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


MAX_INTERVAL = 100  # local bounds, far beyond any real review's (Graph documents none)
MAX_DURATION_DAYS = 3650
MAX_OCCURRENCES = 1000
_FLAGS = (
    "mailNotificationsEnabled",
    "reminderNotificationsEnabled",
    "justificationRequiredOnApproval",
    "defaultDecisionEnabled",
    "autoApplyDecisionsEnabled",
    "recommendationsEnabled",
)


def _bounded(container: dict, name: str, low: int, high: int, default: int) -> int:
    value = field(container, name, int, default=default)
    if not low <= value <= high:
        raise bad_request(f"'{name}' must be an integer from {low} to {high}.")
    return value


def validate_settings(settings: dict) -> None:
    """Refuse now, with 400, any setting the life cycle could not read later (see `refresh`)."""
    for flag in _FLAGS:
        field(settings, flag, bool)
    if field(settings, "defaultDecision", str, default="None") not in ("None", "Approve", "Deny", "Recommendation"):
        raise bad_request("defaultDecision must be None, Approve, Deny or Recommendation.")
    field(settings, "applyActions", list)
    _bounded(settings, "instanceDurationInDays", 1, MAX_DURATION_DAYS, DEFAULT_DURATION_DAYS)
    recurrence = field(settings, "recurrence", dict)
    if not recurrence:
        return
    pattern = field(recurrence, "pattern", dict, default={})
    if pattern.get("type") not in ("weekly", "absoluteMonthly"):
        raise bad_request("Access reviews support only 'weekly' or 'absoluteMonthly' recurrence patterns.")
    _bounded(pattern, "interval", 1, MAX_INTERVAL, 1)
    span = field(recurrence, "range", dict, default={})
    if span.get("type", "noEnd") not in ("noEnd", "endDate", "numbered"):
        raise bad_request(f"Unsupported recurrence range type '{str(span.get('type'))[:40]}'.")
    _bounded(span, "numberOfOccurrences", 0, MAX_OCCURRENCES, 0)
    for name in ("startDate", "endDate"):
        if span.get(name) is not None:
            parse_time(span[name], name)


def next_start(settings: dict, start: int) -> int | None:
    pattern = (settings.get("recurrence") or {}).get("pattern")
    if not pattern:
        return None
    interval = int(pattern.get("interval") or 1)
    if pattern.get("type") == "absoluteMonthly":
        return add_months(start, interval)
    return start + 7 * DAY * interval


def _range_allows(settings: dict, start: int, existing: int) -> bool:
    span = (settings.get("recurrence") or {}).get("range") or {}
    if span.get("type") == "endDate" and span.get("endDate"):
        return start <= parse_time(span["endDate"], "endDate") + DAY
    if span.get("type") == "numbered":
        return existing < int(span.get("numberOfOccurrences") or 0)
    return True


def duration(settings: dict) -> int:
    return int(settings.get("instanceDurationInDays") or DEFAULT_DURATION_DAYS) * DAY


# -- create ---------------------------------------------------------------------------------------------
def create_definition(
    store: Store,
    *,
    display_name: str,
    group_id: str,
    reviewers: list,
    settings: dict,
    created_by: str | None,
    transitive: bool = True,
    created: int | None = None,
    description_admins: str | None = None,
    description_reviewers: str | None = None,
    definition_id: str | None = None,
) -> str:
    validate_settings(settings)
    definition_id = definition_id or str(uuid.uuid4())
    created = store.now() if created is None else created
    query = f"/groups/{group_id}/{'transitiveMembers' if transitive else 'members'}"
    with store.transaction() as db:
        db.execute(
            "INSERT INTO graph_review_definitions (id, display_name, description_admins, description_reviewers,"
            " scope_query, group_id, reviewers, settings, created, modified, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                definition_id,
                display_name,
                description_admins,
                description_reviewers,
                query,
                group_id.lower(),
                json.dumps(reviewers),
                json.dumps(settings),
                created,
                created,
                created_by,
            ),
        )
    return definition_id


def _recommendation(principal) -> str:
    if not principal.enabled:
        return "Deny"
    return "NoInfoAvailable" if principal.user_type == "Guest" else "Approve"


def create_instance(
    store: Store,
    definition: sqlite3.Row,
    start: int,
    *,
    end: int | None = None,
    status: str | None = None,
    instance_id: str | None = None,
) -> str:
    """An instance reviewing the group's current members; status follows the clock unless given."""
    settings = json.loads(definition["settings"])
    end = start + duration(settings) if end is None else end
    status = status or ("InProgress" if end > store.now() else "Completed")
    instance_id = instance_id or str(uuid.uuid4())
    directory = Directory(store)
    group = definition["group_id"]
    if definition["scope_query"].lower().endswith("/transitivemembers"):
        members = [directory.get(i) for i in directory.transitive_members(group)]
        members = [m for m in members if m.kind != GROUP]
    else:
        members = directory.members(group)
    members.sort(key=lambda p: (p.display_name.lower(), p.id))
    with store.transaction() as db:
        db.execute(
            "INSERT INTO graph_review_instances (id, definition_id, start_time, end_time, status)"
            " VALUES (?, ?, ?, ?, ?)",
            (instance_id, definition["id"], start, end, status),
        )
        for position, member in enumerate(members):
            db.execute(
                "INSERT INTO graph_review_decisions (id, instance_id, position, principal_id, principal_kind,"
                " principal_name, principal_upn, recommendation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    str(uuid.uuid4()),
                    instance_id,
                    position,
                    member.id,
                    member.kind,
                    member.display_name,
                    member.upn,
                    _recommendation(member),
                ),
            )
    return instance_id


# -- read ------------------------------------------------------------------------------------------------
def definition_row(store: Store, definition_id: str) -> sqlite3.Row:
    row = store.db.execute("SELECT * FROM graph_review_definitions WHERE id = ?", (definition_id.lower(),)).fetchone()
    if row is None:
        raise not_found(definition_id)
    return row


def instance_row(store: Store, definition_id: str, instance_id: str) -> sqlite3.Row:
    row = store.db.execute(
        "SELECT * FROM graph_review_instances WHERE id = ? AND definition_id = ?",
        (instance_id.lower(), definition_id.lower()),
    ).fetchone()
    if row is None:
        raise not_found(instance_id)
    return row


def instances(store: Store, definition_id: str) -> list[sqlite3.Row]:
    return store.db.execute(
        "SELECT * FROM graph_review_instances WHERE definition_id = ? ORDER BY start_time, id", (definition_id,)
    ).fetchall()


def decisions(store: Store, instance_id: str) -> list[sqlite3.Row]:
    return store.db.execute(
        "SELECT * FROM graph_review_decisions WHERE instance_id = ? ORDER BY position", (instance_id,)
    ).fetchall()


def definition_status(store: Store, definition: sqlite3.Row) -> str:
    rows = instances(store, definition["id"])
    if not rows:
        return "NotStarted"
    if any(r["status"] == "InProgress" for r in rows):
        return "InProgress"
    settings = json.loads(definition["settings"])
    following = next_start(settings, rows[-1]["start_time"])
    if following is not None and _range_allows(settings, following, len(rows)):
        return "InProgress"  # a recurring series stays in progress between its instances
    return "Completed"


# -- the life cycle ------------------------------------------------------------------------------------------
def refresh(store: Store) -> None:
    """Bring every review up to the vault clock (see the module docstring)."""
    now = store.now()
    with store.transaction() as db:
        for row in db.execute(
            "SELECT * FROM graph_review_instances WHERE status = 'InProgress' AND end_time <= ?", (now,)
        ).fetchall():
            _complete(store, row, row["end_time"])
        db.execute(
            "UPDATE graph_review_instances SET status = 'Applied' WHERE status = 'Applying' AND applied <= ?",
            (now - APPLY_SECONDS,),
        )
        for definition in db.execute("SELECT * FROM graph_review_definitions").fetchall():
            try:
                _start_due_instances(store, definition, now)
            except (ValueError, TypeError, KeyError, AttributeError, OverflowError, GraphError) as exc:
                # A definition an older vault stored unchecked: it stops recurring, the rest carry on.
                log.warning(
                    "Access review %s cannot start its next instance (%s).", definition["id"], exc.__class__.__name__
                )


def _start_due_instances(store: Store, definition: sqlite3.Row, now: int) -> None:
    settings = json.loads(definition["settings"])
    rows = instances(store, definition["id"])
    for _ in range(MAX_NEW_INSTANCES):
        if rows:
            start = next_start(settings, rows[-1]["start_time"])
        else:
            span = (settings.get("recurrence") or {}).get("range") or {}
            start = parse_time(span["startDate"], "startDate") if span.get("startDate") else definition["created"]
            start = max(start, definition["created"])
        if start is None or start > now or not _range_allows(settings, start, len(rows)):
            return
        instance_id = create_instance(store, definition, start)
        row = store.db.execute("SELECT * FROM graph_review_instances WHERE id = ?", (instance_id,)).fetchone()
        if row["status"] == "Completed":
            _complete(store, row, row["end_time"])
        rows.append(row)


def _complete(store: Store, instance: sqlite3.Row, end: int) -> None:
    definition = definition_row(store, instance["definition_id"])
    settings = json.loads(definition["settings"])
    with store.transaction() as db:
        db.execute(
            "UPDATE graph_review_instances SET status = 'Completed', end_time = ? WHERE id = ?", (end, instance["id"])
        )
        if not settings.get("autoApplyDecisionsEnabled"):
            return
        default = settings.get("defaultDecision") if settings.get("defaultDecisionEnabled") else None
        if default in ("Approve", "Deny"):
            db.execute(
                "UPDATE graph_review_decisions SET decision = ?, reviewed_by = ?, reviewed = ?"
                " WHERE instance_id = ? AND decision = 'NotReviewed'",
                (default, SYSTEM_REVIEWER, end, instance["id"]),
            )
        elif default == "Recommendation":
            db.execute(
                "UPDATE graph_review_decisions SET decision = recommendation, reviewed_by = ?, reviewed = ?"
                " WHERE instance_id = ? AND decision = 'NotReviewed' AND recommendation IN ('Approve', 'Deny')",
                (SYSTEM_REVIEWER, end, instance["id"]),
            )
        _apply(store, definition, instance["id"], SYSTEM_REVIEWER, end)


def stop(store: Store, instance: sqlite3.Row) -> None:
    if instance["status"] != "InProgress":
        raise GraphError(
            409,
            "Conflict",
            f"The review instance is {instance['status']}; only an instance in progress can be stopped.",
        )
    _complete(store, instance, store.now())


def apply_decisions(store: Store, instance: sqlite3.Row, caller_id: str) -> None:
    if instance["status"] != "Completed":
        raise GraphError(
            409,
            "Conflict",
            f"The review instance is {instance['status']}; decisions can be applied "
            "only to a completed instance that has not been applied.",
        )
    _apply(store, definition_row(store, instance["definition_id"]), instance["id"], caller_id, store.now())


def _apply(store: Store, definition: sqlite3.Row, instance_id: str, applied_by: str, when: int) -> None:
    directory = Directory(store)
    group = definition["group_id"]
    with store.transaction() as db:
        for decision in decisions(store, instance_id):
            if decision["decision"] == "Deny":
                if directory.remove_member(group, decision["principal_id"]):
                    result = "AppliedSuccessfully"
                elif decision["principal_id"] in directory.transitive_members(group):
                    result = "ApplyNotSupported"  # a member through a nested group: remove them there
                else:
                    result = "AppliedSuccessfullyButObjectNotFound"
            elif decision["decision"] == "Approve":
                result = "AppliedSuccessfully"
            else:
                continue
            db.execute(
                "UPDATE graph_review_decisions SET apply_result = ?, applied_by = ?, applied = ? WHERE id = ?",
                (result, applied_by, when, decision["id"]),
            )
        db.execute(
            "UPDATE graph_review_instances SET status = 'Applying', applied = ? WHERE id = ?", (when, instance_id)
        )


# -- decisions -------------------------------------------------------------------------------------------------
def record(
    store: Store,
    instance: sqlite3.Row,
    rows: list[sqlite3.Row],
    reviewer_id: str,
    decision: str,
    justification: str | None,
) -> None:
    if decision not in DECISIONS:
        raise bad_request(f"Invalid decision '{decision}': use one of {', '.join(DECISIONS)}.")
    if instance["status"] != "InProgress":
        raise GraphError(409, "Conflict", "Decisions can be recorded only while the review instance is in progress.")
    settings = json.loads(definition_row(store, instance["definition_id"])["settings"])
    if decision == "Approve" and settings.get("justificationRequiredOnApproval") and not justification:
        raise bad_request("This review requires a justification for every approval.")
    reviewed = None if decision == "NotReviewed" else store.now()
    by = None if decision == "NotReviewed" else reviewer_id
    with store.transaction() as db:
        for row in rows:
            db.execute(
                "UPDATE graph_review_decisions SET decision = ?, justification = ?, reviewed_by = ?,"
                " reviewed = ? WHERE id = ?",
                (decision, justification, by, reviewed, row["id"]),
            )
