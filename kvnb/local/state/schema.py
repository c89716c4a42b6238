"""The local vault's SQLite schema.

One database holds every surface (Key Vault data plane, directory, ARM authorization, Graph
governance) because a role assignment written through ARM must change what the data plane answers
in the same transaction-consistent view. Times are integer unix seconds (UTC) unless noted. The ARM
and Graph governance tables are declared beside this in `schema_arm` and `schema_graph`.
"""

from .schema_arm import SCHEMA as ARM_SCHEMA
from .schema_graph import SCHEMA as GRAPH_SCHEMA

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS vaults (
    name                  TEXT PRIMARY KEY COLLATE NOCASE,
    position              INTEGER NOT NULL UNIQUE,      -- 0 is the first vault, `local`
    port                  INTEGER NOT NULL DEFAULT 0,   -- requested port; 0 picks a free one
    resource_group        TEXT NOT NULL,
    location              TEXT NOT NULL,
    enable_rbac           INTEGER NOT NULL DEFAULT 1,
    enable_soft_delete    INTEGER NOT NULL DEFAULT 1,
    soft_delete_days      INTEGER NOT NULL DEFAULT 90,
    purge_protection      INTEGER NOT NULL DEFAULT 0,
    public_network_access TEXT NOT NULL DEFAULT 'Enabled',
    network_default_action TEXT NOT NULL DEFAULT 'Allow',
    created               INTEGER NOT NULL
);

-- One row per secret name; deleted_date is set while the secret is soft-deleted.
CREATE TABLE IF NOT EXISTS secrets (
    vault                TEXT NOT NULL COLLATE NOCASE,
    name                 TEXT NOT NULL COLLATE NOCASE,
    deleted_date         INTEGER,
    scheduled_purge_date INTEGER,
    recoverable_days     INTEGER,
    recovery_level       TEXT,
    PRIMARY KEY (vault, name)
);

CREATE TABLE IF NOT EXISTS secret_versions (
    vault        TEXT NOT NULL COLLATE NOCASE,
    name         TEXT NOT NULL COLLATE NOCASE,
    version      TEXT NOT NULL,
    seq          INTEGER NOT NULL,             -- creation order; the latest version has the largest
    value        BLOB NOT NULL,                -- AES-GCM: 12-byte nonce || ciphertext || tag
    content_type TEXT,
    tags         TEXT,                         -- JSON object or NULL
    enabled      INTEGER NOT NULL DEFAULT 1,
    nbf          INTEGER,
    exp          INTEGER,
    created      INTEGER NOT NULL,
    updated      INTEGER NOT NULL,
    managed      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (vault, name, version)
);
CREATE INDEX IF NOT EXISTS secret_versions_by_seq ON secret_versions (vault, name, seq);

-- Users, groups and service principals of the local tenant.
CREATE TABLE IF NOT EXISTS principals (
    id              TEXT PRIMARY KEY,          -- object id
    handle          TEXT UNIQUE,               -- persona handle, e.g. 'lead'
    kind            TEXT NOT NULL,             -- User | Group | ServicePrincipal (ARM's names)
    display_name    TEXT NOT NULL,
    upn             TEXT,                      -- users
    mail            TEXT,
    app_id          TEXT,                      -- service principals
    user_type       TEXT,                      -- Member | Guest (users)
    enabled         INTEGER NOT NULL DEFAULT 1,
    description     TEXT,
    created         INTEGER NOT NULL,
    identity_header TEXT UNIQUE                -- what the token endpoint accepts; NULL for groups
);

CREATE TABLE IF NOT EXISTS memberships (
    group_id  TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX IF NOT EXISTS memberships_by_member ON memberships (member_id);

CREATE TABLE IF NOT EXISTS role_assignments (
    name               TEXT PRIMARY KEY,       -- a GUID
    scope              TEXT NOT NULL,          -- as created, e.g. /subscriptions/…/vaults/azDevOpsKV01
    role_definition_id TEXT NOT NULL,          -- the role's GUID
    principal_id       TEXT NOT NULL,
    principal_type     TEXT NOT NULL,
    description        TEXT,
    condition          TEXT,
    condition_version  TEXT,
    created_on         INTEGER NOT NULL,
    updated_on         INTEGER NOT NULL,
    created_by         TEXT,
    updated_by         TEXT,
    start_time         INTEGER,                -- time-bound assignments: active from …
    end_time           INTEGER,                -- … until (vault clock); NULL means permanent
    schedule_request   TEXT                    -- the schedule request that created it, if any
);
CREATE INDEX IF NOT EXISTS role_assignments_by_principal ON role_assignments (principal_id);
"""


def all_ddl() -> str:
    return "\n".join((SCHEMA, ARM_SCHEMA, GRAPH_SCHEMA))
