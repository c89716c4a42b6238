"""Tables of the local vault's Microsoft Graph subset: directory roles, access reviews, access packages.

Picked up by `schema.all_ddl()`. Times are integer unix seconds on the vault clock; JSON columns
hold what Graph would echo back (review settings, approver lists).
"""

SCHEMA = """
-- Entra directory roles held by principals (a group holding one grants it to its members).
CREATE TABLE IF NOT EXISTS graph_directory_roles (
    role         TEXT NOT NULL,               -- e.g. 'Identity Governance Administrator'
    principal_id TEXT NOT NULL,
    PRIMARY KEY (role, principal_id)
);

-- accessReviewScheduleDefinition: one series reviewing one group's members.
CREATE TABLE IF NOT EXISTS graph_review_definitions (
    id                    TEXT PRIMARY KEY,
    display_name          TEXT NOT NULL,
    description_admins    TEXT,
    description_reviewers TEXT,
    scope_query           TEXT NOT NULL,      -- /groups/{id}/transitiveMembers or /groups/{id}/members
    group_id              TEXT NOT NULL,
    reviewers             TEXT NOT NULL,      -- JSON list of accessReviewReviewerScope
    settings              TEXT NOT NULL,      -- JSON accessReviewScheduleSettings
    created               INTEGER NOT NULL,
    modified              INTEGER NOT NULL,
    created_by            TEXT
);

-- accessReviewInstance: one occurrence of a definition.
CREATE TABLE IF NOT EXISTS graph_review_instances (
    id            TEXT PRIMARY KEY,
    definition_id TEXT NOT NULL,
    start_time    INTEGER NOT NULL,
    end_time      INTEGER NOT NULL,
    status        TEXT NOT NULL,             -- InProgress | Completed | Applying | Applied
    applied       INTEGER                     -- when applyDecisions ran
);
CREATE INDEX IF NOT EXISTS graph_review_instances_by_definition ON graph_review_instances (definition_id, start_time);

-- accessReviewInstanceDecisionItem: one per reviewed principal; the principal is copied in so the
-- decision still names them after they leave the directory.
CREATE TABLE IF NOT EXISTS graph_review_decisions (
    id             TEXT PRIMARY KEY,
    instance_id    TEXT NOT NULL,
    position       INTEGER NOT NULL,
    principal_id   TEXT NOT NULL,
    principal_kind TEXT NOT NULL,             -- User | ServicePrincipal | Group
    principal_name TEXT NOT NULL,
    principal_upn  TEXT,
    decision       TEXT NOT NULL DEFAULT 'NotReviewed',
    recommendation TEXT NOT NULL DEFAULT 'NoInfoAvailable',
    justification  TEXT,
    reviewed_by    TEXT,
    reviewed       INTEGER,
    applied_by     TEXT,
    applied        INTEGER,
    apply_result   TEXT NOT NULL DEFAULT 'New'
);
CREATE INDEX IF NOT EXISTS graph_review_decisions_by_instance ON graph_review_decisions (instance_id, position);

-- accessPackage granting membership of one group, and its assignment policy.
CREATE TABLE IF NOT EXISTS graph_access_packages (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    description  TEXT,
    catalog_id   TEXT NOT NULL,
    catalog_name TEXT NOT NULL,
    group_id     TEXT NOT NULL,
    is_hidden    INTEGER NOT NULL DEFAULT 0,
    created      INTEGER NOT NULL,
    modified     INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS graph_package_policies (
    id                TEXT PRIMARY KEY,
    package_id        TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    description       TEXT,
    approvers         TEXT NOT NULL,          -- JSON list of user object ids (singleUser)
    approval_required INTEGER NOT NULL DEFAULT 1,
    created           INTEGER NOT NULL,
    modified          INTEGER NOT NULL
);

-- accessPackageAssignmentRequest with its single approval stage.
CREATE TABLE IF NOT EXISTS graph_package_requests (
    id                   TEXT PRIMARY KEY,
    package_id           TEXT NOT NULL,
    policy_id            TEXT NOT NULL,
    request_type         TEXT NOT NULL,
    state                TEXT NOT NULL,
    status               TEXT NOT NULL,
    target_id            TEXT NOT NULL,
    requestor_id         TEXT NOT NULL,
    justification        TEXT,
    created              INTEGER NOT NULL,
    completed            INTEGER,
    assignment_id        TEXT,
    stage_id             TEXT NOT NULL,
    review_result        TEXT NOT NULL DEFAULT 'NotReviewed',
    reviewed_by          TEXT,
    reviewed             INTEGER,
    review_justification TEXT
);

-- accessPackageAssignment: what a delivered request created.
CREATE TABLE IF NOT EXISTS graph_package_assignments (
    id         TEXT PRIMARY KEY,
    package_id TEXT NOT NULL,
    policy_id  TEXT NOT NULL,
    target_id  TEXT NOT NULL,
    state      TEXT NOT NULL,
    status     TEXT NOT NULL,
    created    INTEGER NOT NULL
);
"""
