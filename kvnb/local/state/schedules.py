"""Time-bound role assignments: schedule requests, and the schedules and instances they produce.

An ``AdminAssign`` request writes a real row in ``role_assignments`` with its start and end time on the
vault clock, so the data plane honours the window with no extra moving part; ``AdminRemove`` deletes
the row. Schedules and instances are read back from ``role_assignments`` (every active or upcoming
assignment, like Azure's PIM shows permanent assignments too): one source of truth.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass

from . import assignments
from .assignments import RoleAssignmentRecord
from .store import Store

ADMIN_ASSIGN, ADMIN_REMOVE = "AdminAssign", "AdminRemove"
PROVISIONED, SCHEDULED, REVOKED, CANCELED = "Provisioned", "ScheduleCreated", "Revoked", "Canceled"


class ScheduleError(Exception):
    """A request the service refuses; ``status`` and ``code`` are ARM's."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Window:
    start_time: int
    end_time: int | None
    expiration_type: str  # AfterDuration | AfterDateTime | NoExpiration
    duration: str | None = None


@dataclass(frozen=True)
class ScheduleRequest:
    name: str
    scope: str
    role_definition_id: str
    principal_id: str
    principal_type: str
    request_type: str
    status: str
    justification: str | None
    start_time: int | None
    expiration_type: str | None
    end_time: int | None
    duration: str | None
    condition: str | None
    condition_version: str | None
    ticket_number: str | None
    ticket_system: str | None
    requestor_id: str
    created_on: int
    schedule_name: str | None
    assignment_name: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ScheduleRequest:
        return cls(**{k: row[k] for k in row.keys()})  # noqa: SIM118 (`in` on a sqlite3.Row tests values)

    def status_at(self, now: int) -> str:
        # A scheduled grant becomes an ordinary provisioned one when its start passes.
        if self.status == SCHEDULED and self.start_time is not None and self.start_time <= now:
            return PROVISIONED
        return self.status


@dataclass(frozen=True)
class ScheduleView:
    """One role assignment seen as a PIM schedule (and, while active, as its one instance)."""

    name: str  # the schedule's name; the instance is named after the assignment
    assignment: RoleAssignmentRecord
    request_name: str | None

    @property
    def scope(self) -> str:
        return self.assignment.scope

    @property
    def principal_id(self) -> str:
        return self.assignment.principal_id


def is_current(start: int | None, end: int | None, now: int) -> bool:
    return (start is None or start <= now) and (end is None or now < end)


def _not_ended(record: RoleAssignmentRecord, now: int) -> bool:
    return record.end_time is None or now < record.end_time


def _same_scope(a: str, b: str) -> bool:
    return a.strip("/").lower() == b.strip("/").lower()


def _matching(store: Store, principal_id: str, role_guid: str, scope: str) -> list[RoleAssignmentRecord]:
    return [
        r
        for r in assignments.list_assignments(store)
        if r.principal_id.lower() == principal_id.lower()
        and r.role_definition_id == role_guid.lower()
        and _same_scope(r.scope, scope)
    ]


def drop_expired(store: Store, principal_id: str, role_guid: str, scope: str) -> int:
    """Delete ended assignments of principal+role+scope, so the same grant can be given again."""
    now, dropped = store.now(), 0
    with store.transaction():
        for record in _matching(store, principal_id, role_guid, scope):
            if not _not_ended(record, now):
                assignments.delete_assignment(store, record.name)
                dropped += 1
    return dropped


def _insert(db, request: ScheduleRequest) -> None:
    columns = list(ScheduleRequest.__dataclass_fields__)
    db.execute(
        f"INSERT INTO role_assignment_schedule_requests ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})",
        [getattr(request, c) for c in columns],
    )


def _check_new(store: Store, name: str) -> None:
    if get_request(store, name) is not None:
        raise ScheduleError(
            409, "RoleAssignmentRequestExists", f"The role assignment request ID '{name}' already exists."
        )


def admin_assign(
    store: Store,
    name: str,
    *,
    scope: str,
    role_guid: str,
    principal_id: str,
    principal_type: str,
    requestor_id: str,
    window: Window,
    justification: str | None = None,
    condition: str | None = None,
    condition_version: str | None = None,
    ticket_number: str | None = None,
    ticket_system: str | None = None,
) -> ScheduleRequest:
    """Grant *role* to the principal at *scope* for *window*; the assignment row carries the window."""
    now = store.now()
    if window.end_time is not None and window.end_time <= max(now, window.start_time):
        raise ScheduleError(
            400,
            "InvalidScheduleInfo",
            "The schedule ends before it starts or in the past; give an end time in the future.",
        )
    schedule_name, assignment_name = str(uuid.uuid4()), str(uuid.uuid4())
    with store.transaction() as db:
        _check_new(store, name)
        drop_expired(store, principal_id, role_guid, scope)
        if _matching(store, principal_id, role_guid, scope):
            raise ScheduleError(409, "RoleAssignmentExists", "The Role assignment already exists.")
        assignments.create_assignment(
            store,
            scope,
            role_guid,
            principal_id,
            principal_type,
            created_by=requestor_id,
            name=assignment_name,
            condition=condition,
            condition_version=condition_version,
            start_time=window.start_time,
            end_time=window.end_time,
            schedule_request=name,
            created_on=now,
        )
        request = ScheduleRequest(
            name=name,
            scope=scope,
            role_definition_id=role_guid.lower(),
            principal_id=principal_id,
            principal_type=principal_type,
            request_type=ADMIN_ASSIGN,
            status=SCHEDULED if window.start_time > now else PROVISIONED,
            justification=justification,
            start_time=window.start_time,
            expiration_type=window.expiration_type,
            end_time=window.end_time,
            duration=window.duration,
            condition=condition,
            condition_version=condition_version,
            ticket_number=ticket_number,
            ticket_system=ticket_system,
            requestor_id=requestor_id,
            created_on=now,
            schedule_name=schedule_name,
            assignment_name=assignment_name,
        )
        _insert(db, request)
    return request


def admin_remove(
    store: Store,
    name: str,
    *,
    scope: str,
    role_guid: str,
    principal_id: str,
    principal_type: str,
    requestor_id: str,
    justification: str | None = None,
    ticket_number: str | None = None,
    ticket_system: str | None = None,
) -> ScheduleRequest:
    """Remove the principal's active or upcoming assignment of *role* at exactly *scope*."""
    now = store.now()
    with store.transaction() as db:
        _check_new(store, name)
        targets = [r for r in _matching(store, principal_id, role_guid, scope) if _not_ended(r, now)]
        if not targets:
            raise ScheduleError(400, "RoleAssignmentDoesNotExist", "The Role assignment does not exist.")
        for record in targets:
            assignments.delete_assignment(store, record.name)
        request = ScheduleRequest(
            name=name,
            scope=scope,
            role_definition_id=role_guid.lower(),
            principal_id=principal_id,
            principal_type=principal_type,
            request_type=ADMIN_REMOVE,
            status=REVOKED,
            justification=justification,
            start_time=now,
            expiration_type=None,
            end_time=None,
            duration=None,
            condition=None,
            condition_version=None,
            ticket_number=ticket_number,
            ticket_system=ticket_system,
            requestor_id=requestor_id,
            created_on=now,
            schedule_name=None,
            assignment_name=targets[0].name,
        )
        _insert(db, request)
    return request


def cancel_request(store: Store, name: str) -> ScheduleRequest:
    """Cancel a grant whose start is still ahead; anything already in effect cannot be cancelled."""
    with store.transaction() as db:
        request = get_request(store, name)
        if request is None:
            raise ScheduleError(
                404,
                "RoleAssignmentScheduleRequestNotFound",
                f"The role assignment schedule request '{name}' is not found.",
            )
        status = request.status_at(store.now())
        if status != SCHEDULED:
            raise ScheduleError(
                400,
                "RoleAssignmentScheduleRequestNotCancelable",
                f"Only a pending request can be cancelled; this one is {status}. "
                "Remove the assignment with an AdminRemove request instead.",
            )
        if request.assignment_name:
            assignments.delete_assignment(store, request.assignment_name)
        db.execute("UPDATE role_assignment_schedule_requests SET status = ? WHERE name = ?", (CANCELED, name))
    return get_request(store, name)


def get_request(store: Store, name: str) -> ScheduleRequest | None:
    row = store.db.execute("SELECT * FROM role_assignment_schedule_requests WHERE name = ?", (name,)).fetchone()
    return ScheduleRequest.from_row(row) if row else None


def list_requests(store: Store) -> list[ScheduleRequest]:
    rows = store.db.execute("SELECT * FROM role_assignment_schedule_requests ORDER BY created_on, rowid").fetchall()
    return [ScheduleRequest.from_row(row) for row in rows]


def schedules(store: Store) -> list[ScheduleView]:
    """Every assignment that has not ended (upcoming ones included), as a schedule."""
    now = store.now()
    schedule_names = dict(
        store.db.execute(
            "SELECT name, schedule_name FROM role_assignment_schedule_requests WHERE schedule_name IS NOT NULL"
        )
    )
    views = []
    for record in assignments.list_assignments(store):
        if _not_ended(record, now):
            name = schedule_names.get(record.schedule_request) or record.name
            views.append(ScheduleView(name, record, record.schedule_request))
    return views


def instances(store: Store) -> list[ScheduleView]:
    """The schedules in effect now: one instance each."""
    now = store.now()
    return [view for view in schedules(store) if is_current(view.assignment.start_time, view.assignment.end_time, now)]
