"""The checks of the catalogue (`findings.CATALOGUE`), and `evaluate`, which runs them all.

Each check returns the affected objects, as text.

A check reads the audit's DataFrames (columns documented in `tables`) and the settings; an empty
list means it passed. S1–S5 look at enabled secrets only, as Prowler and Powerpipe do.
"""

from __future__ import annotations

import pandas as pd

from .findings import (
    ASSIGNMENTS,
    CATALOGUE,
    REVIEWS,
    SECRETS,
    VAULT,
    AuditSettings,
    AuditTables,
    Finding,
    Limitation,
    NotVisible,
)

_ADMIN_ROLES = frozenset(
    {
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",  # Owner
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",  # User Access Administrator
        "00482a5a-887f-4fb3-b363-3b7fe8e74483",  # Key Vault Administrator
        "8b54135c-b56d-4d72-a534-26097cfdc8d8",  # Key Vault Data Access Administrator
    }
)
# A review that is open (in_progress) or whose window closes soon (due) is still within the 60-day
# cycle: the reviews table shows those states, P4 flags only the cycle actually broken.
_REVIEW_FAILED = frozenset({"no_review", "overdue", "not_applied"})


def _enabled(tables: AuditTables) -> pd.DataFrame:
    secrets = tables.secrets
    return secrets[secrets["enabled"].astype(bool)]  # astype: an empty column is object-typed


def _days(value: float) -> str:
    return f"{round(value)} days"


def s1(tables, settings):
    secrets = _enabled(tables)
    return [f"{row.name}: no expiry" for row in secrets[secrets["expires"].isna()].itertuples()]


def s2(tables, settings):
    out = []
    for row in _enabled(tables).itertuples():
        if pd.isna(row.expires):
            out.append(f"{row.name}: no expiry")
            continue
        validity = (row.expires - row.last_rotated) / pd.Timedelta(days=1)
        if validity > settings.max_validity_days:
            out.append(f"{row.name}: valid {_days(validity)} (max {settings.max_validity_days})")
    return out


def s3(tables, settings):
    now = settings.current_time()
    out = []
    for row in _enabled(tables).itertuples():
        start = row.not_before if not pd.isna(row.not_before) else row.last_rotated
        active = (now - start) / pd.Timedelta(days=1)
        if active > settings.max_active_days:
            out.append(f"{row.name}: not rotated for {_days(active)} (max {settings.max_active_days})")
    return out


def s4(tables, settings):
    # Already expired secrets belong to S6; S4 warns while there is still time to rotate.
    secrets = _enabled(tables)
    soon = secrets[(secrets["days_to_expiry"] >= 0) & (secrets["days_to_expiry"] < settings.min_days_before_expiry)]
    return [f"{row.name}: expires in {_days(row.days_to_expiry)}" for row in soon.itertuples()]


def s5(tables, settings):
    secrets = _enabled(tables)
    return [f"{row.name}: no content type" for row in secrets[secrets["content_type"].isna()].itertuples()]


def s6(tables, settings):
    now = settings.current_time()
    out = []
    for row in tables.secrets.itertuples():
        if not row.enabled:
            out.append(f"{row.name}: disabled")
        elif not pd.isna(row.expires) and row.expires < now:
            out.append(f"{row.name}: expired {_days((now - row.expires) / pd.Timedelta(days=1))} ago")
    return out


class _VaultRow:
    """The vault's one row; reading a value nobody could see raises NotVisible (a limitation)."""

    def __init__(self, tables):
        if tables.vault is None or tables.vault.empty:
            raise NotVisible(VAULT)
        self._row = tables.vault.iloc[0].to_dict()

    def __getitem__(self, column):
        value = self._row.get(column)
        if value is None or (isinstance(value, float) and pd.isna(value)):
            raise NotVisible(VAULT)
        return value


def _vault(tables) -> _VaultRow:
    return _VaultRow(tables)


def v1(tables, settings):
    vault = _vault(tables)
    return [] if vault["enable_rbac_authorization"] else [f"{vault['name']}: access policies"]


def v2(tables, settings):
    vault = _vault(tables)
    return [] if vault["enable_soft_delete"] else [f"{vault['name']}: soft delete off"]


def v3(tables, settings):
    vault = _vault(tables)
    return [] if vault["enable_purge_protection"] else [f"{vault['name']}: purge protection off"]


def v4(tables, settings):
    vault = _vault(tables)
    if vault["public_network_access"] == "Disabled" or vault["network_default_action"] == "Deny":
        return []
    return [
        f"{vault['name']}: public network access {vault['public_network_access']}, "
        f"firewall default action {vault['network_default_action']}"
    ]


def v5(tables, settings):
    vault = _vault(tables)
    return [] if vault["private_endpoints"] else [f"{vault['name']}: no approved private endpoint"]


def v6(tables, settings):
    vault = _vault(tables)
    return [] if vault["audit_logging"] else [f"{vault['name']}: no diagnostic setting with AuditEvent"]


def v7(tables, settings):
    vault = _vault(tables)
    return [] if vault["defender_for_key_vault"] else [f"{vault['name']}: Defender for Key Vault not Standard"]


def r9(tables, settings):
    vault = _vault(tables)
    return [] if vault["enable_rbac_authorization"] else [f"{vault['name']}: data access follows access policies"]


# -- access ----------------------------------------------------------------------------------------
def _who(row) -> str:
    name = row.principal_name if isinstance(row.principal_name, str) else row.principal_id
    return f"{name} ({row.principal_type})" if row.principal_type != "User" else name


def _how(row) -> str:
    where = (
        f"secret {row.secret}"
        if row.scope_kind == "secret"
        else f"inherited from {row.inherited_from}"
        if isinstance(row.inherited_from, str)
        else "vault"
    )
    through = f"via {row.via_group}" if isinstance(row.via_group, str) else "direct"
    return f"{row.role or row.role_id} at {where}, {through}"


def _people(tables) -> pd.DataFrame:
    """Rows of principals that hold access themselves: direct assignees and group members, not groups."""
    assignments = tables.role_assignments
    return assignments[assignments["principal_type"] != "Group"]


def _own(tables) -> pd.DataFrame:
    assignments = tables.role_assignments
    return assignments[assignments["via_group"].isna()]


def r1(tables, settings):
    admins = _people(tables)
    admins = admins[admins["role_id"].isin(_ADMIN_ROLES)]
    holders = sorted({_who(row) for row in admins.itertuples()})
    if len(holders) <= settings.max_admins:
        return []
    return [f"{len(holders)} administrators (max {settings.max_admins}): " + ", ".join(holders)]


def r2(tables, settings):
    own = _own(tables)
    direct = own[
        (own["principal_type"] == "User")
        & (own["privileged"].fillna(False).astype(bool) | own["reads_secret_values"].fillna(False).astype(bool))
    ]
    return [f"{_who(row)}: {_how(row)}" for row in direct.itertuples()]


def r3(tables, settings):
    own = _own(tables)
    return [f"{_who(row)}: {_how(row)}" for row in own[own["inherited_from"].notna()].itertuples()]


def r4(tables, settings):
    people = _people(tables)
    return [f"{_who(row)} (guest): {_how(row)}" for row in people[people["user_type"] == "Guest"].itertuples()]


def r5(tables, settings):
    out = []
    for row in tables.role_assignments.itertuples():
        if row.resolved is False:
            out.append(f"{row.principal_id} (deleted principal): {_how(row)}")
        elif row.account_enabled is False:
            out.append(f"{_who(row)} (disabled): {_how(row)}")
        elif not isinstance(row.role, str):
            out.append(f"{_who(row)}: deleted role definition {row.role_id}")
    return out


def r6(tables, settings):
    assignments = tables.role_assignments
    if "last_sign_in" not in assignments:
        return []
    cutoff = settings.current_time() - pd.Timedelta(days=settings.inactive_days)
    stale = assignments[assignments["last_sign_in"].notna() & (assignments["last_sign_in"] < cutoff)]
    return [f"{_who(row)}: no sign-in since {row.last_sign_in:%Y-%m-%d}; {_how(row)}" for row in stale.itertuples()]


def r7(tables, settings):
    own = _own(tables)
    writers = own[own["can_assign_roles"].fillna(False).astype(bool)]
    return [f"{_who(row)}: {_how(row)}" for row in writers.itertuples()]


def r8(tables, settings):
    own = _own(tables)
    out = [f"{_who(row)}: custom role {row.role}" for row in own[own["role_type"] == "CustomRole"].itertuples()]
    standing = own[own["privileged"].fillna(False).astype(bool) & own["end_time"].isna()]
    out += [f"{_who(row)}: standing {_how(row)}" for row in standing.itertuples()]
    return out


# -- reviews ---------------------------------------------------------------------------------------
def _statuses(tables) -> dict[str, str]:
    reviews = tables.reviews
    return {row.group_id: row.status for row in reviews.itertuples() if isinstance(row.group_id, str)}


def _unreviewed(tables, privileged: bool) -> list[str]:
    statuses = _statuses(tables)
    own = _own(tables)
    own = own[own["privileged"].fillna(False).astype(bool) == privileged]
    out = []
    for row in own.itertuples():
        if row.principal_type == "Group" and statuses.get(row.principal_id, "no_review") != "no_review":
            continue
        reason = "group without review" if row.principal_type == "Group" else "not a reviewed group"
        out.append(f"{_who(row)}: {_how(row)} ({reason})")
    return out


def p1(tables, settings):
    return _unreviewed(tables, privileged=True)


def p2(tables, settings):
    return _unreviewed(tables, privileged=False)


def p3(tables, settings):
    reviews = tables.reviews
    recent = {
        row.group
        for row in reviews.itertuples()
        if not pd.isna(row.days_since_review) and row.days_since_review <= settings.review_interval_days
    }
    people = _people(tables)
    guests = people[people["user_type"] == "Guest"]
    return [f"{_who(row)} (guest): {_how(row)}" for row in guests.itertuples() if row.via_group not in recent]


def p4(tables, settings):
    statuses = _statuses(tables)
    own = _own(tables)
    out = []
    for row in own[own["principal_type"] == "Group"].drop_duplicates("principal_id").itertuples():
        status = statuses.get(row.principal_id, "no_review")
        if status in _REVIEW_FAILED:
            out.append(f"{_who(row)}: {status}")
    return out


CHECKS = {
    name.upper(): function
    for name, function in globals().items()
    if len(name) == 2 and name[0] in "svrp" and name[1].isdigit()
}


_TABLE_OF = {SECRETS: "secrets", ASSIGNMENTS: "role_assignments", REVIEWS: "reviews"}


def evaluate(tables: AuditTables, settings: AuditSettings | None = None) -> tuple[list[Finding], list[Limitation]]:
    """Run every check of the catalogue over *tables*: findings, and what could not be checked."""
    settings = settings or AuditSettings()
    findings: list[Finding] = []
    blocked: dict[str, list[str]] = {}
    unavailable = dict(tables.unavailable)
    for source, table in _TABLE_OF.items():  # a table never gathered (a failed stage) is not a pass
        if getattr(tables, table) is None:
            unavailable.setdefault(source, f"The {table.replace('_', ' ')} table was not gathered.")
    for check in CATALOGUE.values():
        missing = [source for source in check.needs if source in unavailable]
        if missing:
            blocked.setdefault(missing[0], []).append(check.id)
            continue
        try:
            affected = CHECKS[check.id](tables, settings)
        except NotVisible as exc:
            unavailable.setdefault(exc.source, f"The {exc.source.replace('_', ' ')} data was not visible.")
            blocked.setdefault(exc.source, []).append(check.id)
            continue
        if affected:
            findings.append(
                Finding(check.id, check.title, check.severity, check.control, tuple(affected), check.remediation)
            )
    limitations = [Limitation(tuple(ids), source, unavailable[source]) for source, ids in blocked.items()]
    return findings, limitations
