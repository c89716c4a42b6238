"""Role assignments in the store: the one place that writes the ``role_assignments`` table.

Used by the seed scenario, ARM's role-assignment and schedule-request routes, and governance.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass

from .store import Store


class AssignmentExists(Exception):
    """The same principal already holds the same role at the same scope (ARM: RoleAssignmentExists)."""

    def __init__(self, existing: str):
        super().__init__("The role assignment already exists.")
        self.existing = existing


@dataclass(frozen=True)
class RoleAssignmentRecord:
    name: str
    scope: str
    role_definition_id: str  # GUID
    principal_id: str
    principal_type: str
    description: str | None
    condition: str | None
    condition_version: str | None
    created_on: int
    updated_on: int
    created_by: str | None
    updated_by: str | None
    start_time: int | None
    end_time: int | None
    schedule_request: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RoleAssignmentRecord:
        return cls(**{k: row[k] for k in row.keys()})  # noqa: SIM118 (`in` on a sqlite3.Row tests values)


def _same_scope(a: str, b: str) -> bool:
    return a.strip("/").lower() == b.strip("/").lower()


def create_assignment(
    store: Store,
    scope: str,
    role_guid: str,
    principal_id: str,
    principal_type: str,
    *,
    created_by: str | None = None,
    name: str | None = None,
    description: str | None = None,
    condition: str | None = None,
    condition_version: str | None = None,
    start_time: int | None = None,
    end_time: int | None = None,
    schedule_request: str | None = None,
    created_on: int | None = None,
) -> RoleAssignmentRecord:
    """Insert an assignment; raise AssignmentExists for a duplicate principal+role+scope."""
    name = name or str(uuid.uuid4())
    now = store.now() if created_on is None else created_on
    with store.transaction() as db:
        for row in db.execute(
            "SELECT name, scope FROM role_assignments WHERE principal_id = ? AND role_definition_id = ?",
            (principal_id, role_guid.lower()),
        ):
            if _same_scope(row["scope"], scope) and row["name"] != name:
                raise AssignmentExists(row["name"])
        db.execute(
            "INSERT INTO role_assignments (name, scope, role_definition_id, principal_id, principal_type,"
            " description, condition, condition_version, created_on, updated_on, created_by, updated_by,"
            " start_time, end_time, schedule_request) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(name) DO UPDATE SET description = excluded.description,"
            " updated_on = excluded.updated_on, updated_by = excluded.updated_by",
            (
                name,
                scope,
                role_guid.lower(),
                principal_id,
                principal_type,
                description,
                condition,
                condition_version,
                now,
                now,
                created_by,
                created_by,
                start_time,
                end_time,
                schedule_request,
            ),
        )
    return get_assignment(store, name)


def get_assignment(store: Store, name: str) -> RoleAssignmentRecord | None:
    row = store.db.execute("SELECT * FROM role_assignments WHERE name = ?", (name,)).fetchone()
    return RoleAssignmentRecord.from_row(row) if row else None


def delete_assignment(store: Store, name: str) -> RoleAssignmentRecord | None:
    with store.transaction() as db:
        record = get_assignment(store, name)
        if record is not None:
            db.execute("DELETE FROM role_assignments WHERE name = ?", (name,))
    return record


def list_assignments(store: Store) -> list[RoleAssignmentRecord]:
    rows = store.db.execute("SELECT * FROM role_assignments ORDER BY created_on, name").fetchall()
    return [RoleAssignmentRecord.from_row(row) for row in rows]
