"""Tables of the local ARM: role assignment schedule requests (PIM's "active assignment" requests).

Schedules and schedule instances are not stored: they are views over ``role_assignments`` (see
`schedules`), so what ARM lists and what the data plane enforces come from one row and cannot
disagree. A request keeps the names of the schedule and the assignment it made or removed.
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS role_assignment_schedule_requests (
    name               TEXT PRIMARY KEY,          -- a GUID chosen by the client
    scope              TEXT NOT NULL,
    role_definition_id TEXT NOT NULL,             -- the role's GUID
    principal_id       TEXT NOT NULL,
    principal_type     TEXT NOT NULL,
    request_type       TEXT NOT NULL,             -- AdminAssign | AdminRemove
    status             TEXT NOT NULL,             -- Provisioned | ScheduleCreated | Revoked | Canceled
    justification      TEXT,
    start_time         INTEGER,                   -- vault clock, unix seconds
    expiration_type    TEXT,                      -- AfterDuration | AfterDateTime | NoExpiration
    end_time           INTEGER,
    duration           TEXT,                      -- ISO 8601, as requested
    condition          TEXT,
    condition_version  TEXT,
    ticket_number      TEXT,
    ticket_system      TEXT,
    requestor_id       TEXT NOT NULL,
    created_on         INTEGER NOT NULL,
    schedule_name      TEXT,                      -- the schedule it created (AdminAssign)
    assignment_name    TEXT                       -- the role assignment it created or removed
);
CREATE INDEX IF NOT EXISTS schedule_requests_by_principal ON role_assignment_schedule_requests (principal_id);
"""
