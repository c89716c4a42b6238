"""Ad hoc access audits of a vault: metadata tables, findings with public anchors, reports.

An audit reads names, properties, role assignments, principals and reviews; it never reads a
secret value. Build blocks:

* `audit_vault` (blocking), `start_audit` (background Future), `collect_vault` / `iter_vault_audit`
  (async): gather one vault concurrently, paced to the service's throttle, with partial results;
* `secrets_table`, `role_assignments_table`, `reviews_table`, `vault_table`: pure DataFrame builders;
* `evaluate` + `CATALOGUE`: the checks (S1–S6, V1–V7, R1–R9, P1–P4) under `AuditSettings`;
* `render`: table, json, csv, html or markdown.
"""

from __future__ import annotations

from .checks import evaluate
from .collect import AuditAccessError, AuditProgress, VaultAudit, collect_vault, iter_vault_audit
from .findings import (
    CATALOGUE,
    AuditSettings,
    AuditTables,
    Check,
    Finding,
    Limitation,
    Severity,
    at_or_above,
    findings_table,
)
from .pacing import RequestPacer
from .report import FORMATS, render, to_document, write_csv_tables
from .runner import audit_vault, start_audit
from .tables import reviews_table, role_assignments_table, secrets_table, vault_table

__all__ = [
    "AuditAccessError",
    "AuditProgress",
    "AuditSettings",
    "AuditTables",
    "CATALOGUE",
    "Check",
    "FORMATS",
    "Finding",
    "Limitation",
    "RequestPacer",
    "Severity",
    "VaultAudit",
    "at_or_above",
    "audit_vault",
    "collect_vault",
    "evaluate",
    "findings_table",
    "iter_vault_audit",
    "render",
    "reviews_table",
    "role_assignments_table",
    "secrets_table",
    "start_audit",
    "to_document",
    "vault_table",
    "write_csv_tables",
]
