"""The audit's check catalogue, its settings, and the evaluation of the checks over the tables.

Each check has an id from ``audit-checks.md`` (S secret hygiene, V vault configuration, R access
hygiene, P review process), a severity, the public control it follows (CIS Microsoft Azure
Foundations v6.0 number and/or Azure Policy built-in GUID) and a one-line remediation. A check whose
data the caller could not read yields a `Limitation` (what was not seen, and what to request), never
an error: a Key Vault Reader can run the whole audit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from enum import Enum

import pandas as pd

from kvnb.limitation import Limitation


class Severity(str, Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"high": 3, "medium": 2, "low": 1, "info": 0}[self.value]

    def __str__(self) -> str:
        return self.value


# Sources of data a check may need; the collector reports which ones the caller could not read.
SECRETS, VERSIONS, ASSIGNMENTS, PRINCIPALS, REVIEWS, VAULT, DIAGNOSTICS, DEFENDER, SIGN_INS = (
    "secrets",
    "versions",
    "assignments",
    "principals",
    "reviews",
    "vault",
    "diagnostics",
    "defender",
    "sign_ins",
)


@dataclass(frozen=True)
class AuditSettings:
    """Thresholds (days, with the meaning of the Azure Policy parameter of the same check)."""

    max_validity_days: int = 365  # S2: exp - created of the current version
    max_active_days: int = 365  # S3: days since (nbf or created): the rotation proxy
    min_days_before_expiry: int = 30  # S4
    max_admins: int = 3  # R1: distinct principals that administer the vault
    inactive_days: int = 90  # R6
    review_interval_days: int = 60  # P3, P4
    review_warning_days: int = 7  # the `due` margin of the review status
    now: datetime | None = None  # the audit's "now" (default: the current UTC time)

    def current_time(self) -> pd.Timestamp:
        when = self.now or datetime.now(timezone.utc)
        stamp = pd.Timestamp(when)
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    severity: Severity
    remediation: str
    cis: str | None = None
    policy: tuple[str, ...] = ()
    anchors: str = ""
    needs: tuple[str, ...] = ()

    @property
    def control(self) -> str:
        """The public control, as one line: 'CIS 8.3.5; Azure Policy 0b60c0b2-…'."""
        parts = [f"CIS {self.cis}"] if self.cis else []
        if self.policy:
            parts.append("Azure Policy " + ", ".join(self.policy))
        return "; ".join(parts) or self.anchors or "kvnb"


@dataclass(frozen=True)
class Finding:
    id: str
    title: str
    severity: Severity
    control: str
    affected: tuple[str, ...]
    remediation: str

    def to_dict(self) -> dict:
        data = asdict(self)
        data["severity"] = self.severity.value
        data["affected"] = list(self.affected)
        return data


class NotVisible(Exception):
    """Raised by a check whose input the caller could not see (a None value): a limitation."""

    def __init__(self, source: str):
        super().__init__(source)
        self.source = source


@dataclass
class AuditTables:
    """The tables of one vault; a table the caller could not read is None, with a reason."""

    secrets: pd.DataFrame | None = None
    role_assignments: pd.DataFrame | None = None
    reviews: pd.DataFrame | None = None
    vault: pd.DataFrame | None = None
    unavailable: dict[str, str] = field(default_factory=dict)  # source -> reason and remedy

    def snapshot(self) -> AuditTables:
        """The tables as they are now (builders replace frames, never change them in place)."""
        return AuditTables(self.secrets, self.role_assignments, self.reviews, self.vault, dict(self.unavailable))

    def as_dict(self) -> dict[str, pd.DataFrame | None]:
        return {
            "secrets": self.secrets,
            "role_assignments": self.role_assignments,
            "reviews": self.reviews,
            "vault": self.vault,
        }


def _cat(*checks: Check) -> dict[str, Check]:
    return {check.id: check for check in checks}


H, M, L, I = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO  # noqa: E741 (the catalogue's one-letter severities)
CATALOGUE: dict[str, Check] = _cat(
    Check(
        "S1",
        "Enabled secret has no expiry date",
        M,
        "Set an expiry date (update_secret_properties(name, expires_on=...)).",
        cis="8.3.3",
        policy=("98728c90-32c7-4049-8429-847dc0f4fe37",),
        anchors="8.3.4 for access-policy vaults; CKV_AZURE_41",
        needs=(SECRETS,),
    ),
    Check(
        "S2",
        "Secret is valid for longer than the maximum validity",
        L,
        "Set an expiry no later than the maximum validity after the version's creation.",
        policy=("342e8053-e12e-4c44-be01-c3c2f318400f",),
        needs=(SECRETS,),
    ),
    Check(
        "S3",
        "Secret not rotated within the maximum active period",
        M,
        "Rotate: set a new version of the secret and update its consumers.",
        policy=("e8d99835-8a06-45ae-a8e0-87a91941ccfe",),
        needs=(SECRETS,),
    ),
    Check(
        "S4",
        "Secret expires soon",
        M,
        "Rotate before the expiry date and give the new version a new expiry.",
        policy=("b0eb591a-5e70-4534-a8bf-04b9c489584a",),
        needs=(SECRETS,),
    ),
    Check(
        "S5",
        "Secret has no content type",
        L,
        "Set a content type, e.g. update_secret_properties(name, content_type='text/plain').",
        policy=("75262d3e-ba4a-4f43-85f8-9f72c090e5e3",),
        anchors="CKV_AZURE_114",
        needs=(SECRETS,),
    ),
    Check(
        "S6",
        "Disabled or expired secret still present",
        L,
        "Delete secrets no longer used (soft delete keeps them recoverable), or renew and enable them.",
        anchors="kvnb",
        needs=(SECRETS,),
    ),
    Check(
        "V1",
        "Vault does not use the Azure RBAC permission model",
        H,
        "Move the vault to Azure RBAC (enableRbacAuthorization) after mapping access policies to roles.",
        cis="8.3.6",
        policy=("12d4fa5e-1f9f-4c21-97a9-b99b3c6611b5",),
    ),
    Check(
        "V2",
        "Soft delete is disabled",
        H,
        "Enable soft delete (on by default for new vaults; cannot be turned off again).",
        policy=("1e66c121-a66a-4b1f-9b83-0fd99bf0fc2d",),
        anchors="CKV_AZURE_111",
    ),
    Check(
        "V3",
        "Purge protection is disabled",
        M,
        "Enable purge protection: az keyvault update --name VAULT --enable-purge-protection true.",
        cis="8.3.5",
        policy=("0b60c0b2-2dc2-4e1c-b5c9-abbed971de53",),
    ),
    Check(
        "V4",
        "Public network access is open without a firewall",
        M,
        "Disable public network access, or set the firewall's default action to Deny.",
        cis="8.3.7",
        policy=("405c5871-3e91-4644-8a63-58e19d68ff5b", "55615ac9-af46-4a59-874e-391cc3dfb490"),
    ),
    Check(
        "V5",
        "No approved private endpoint",
        L,
        "Connect the vault through a private endpoint.",
        cis="8.3.8",
        policy=("a6abeaec-4d90-4a02-805f-6b26c4d3fbe9",),
    ),
    Check(
        "V6",
        "AuditEvent logging is not enabled",
        M,
        "Add a diagnostic setting that sends the AuditEvent category to a workspace or storage.",
        cis="6.1.1.4",
        policy=("cf820ca0-f99e-4f3e-84fb-66e913812d21",),
        needs=(DIAGNOSTICS,),
    ),
    Check(
        "V7",
        "Microsoft Defender for Key Vault is off",
        L,
        "Turn on Defender for Key Vault (pricing tier Standard) for the subscription.",
        cis="8.1.8.1",
        policy=("0e6763cc-5078-4e64-889d-ff4d9a839047",),
        needs=(DEFENDER,),
    ),
    Check(
        "R1",
        "Too many principals administer the vault",
        M,
        "Keep administrators (Owner, User Access Administrator, Key Vault (Data Access) Administrator) to a few.",
        cis="5.7 (subscription analogue)",
        policy=("4f11b553-d42e-4e3a-89be-32ca364cad4c",),
        needs=(ASSIGNMENTS, PRINCIPALS),
    ),
    Check(
        "R2",
        "Direct user assignment instead of a group",
        M,
        "Grant the role to a reviewed group and remove the direct user assignment.",
        anchors="AzGovViz: privileged roles on non-group identities",
        needs=(ASSIGNMENTS,),
    ),
    Check(
        "R3",
        "Assignment inherited from above the vault",
        I,
        "Check that access granted at resource group, subscription or management group is meant for this vault.",
        anchors="AzGovViz AssignmentInheritFrom",
        needs=(ASSIGNMENTS,),
    ),
    Check(
        "R4",
        "Guest holds access to the vault",
        H,
        "Remove the guest's assignment or group membership, or confirm it in a review.",
        cis="5.3.2",
        policy=(
            "339353f6-2387-4a45-abe4-7f529d121046",
            "94e1c2ac-cbbe-4cac-a2b5-389c812dee87",
            "e9ac8f8e-ce22-4355-8f04-99b911d6be52",
        ),
        needs=(ASSIGNMENTS, PRINCIPALS),
    ),
    Check(
        "R5",
        "Disabled or deleted principal holds access",
        M,
        "Remove the assignment or group membership of disabled and deleted (orphaned) principals.",
        cis="5.3.5",
        policy=("0cfea604-3201-4e14-88fc-fae4c427a6c5", "8d7e1fde-fe26-4b5f-8108-f8e432cbc2be"),
        needs=(ASSIGNMENTS, PRINCIPALS),
    ),
    Check(
        "R6",
        "Inactive principal holds access",
        L,
        "Remove access from principals that have not signed in for a long time.",
        anchors="Prowler entra_user_with_recent_sign_in",
        needs=(ASSIGNMENTS, PRINCIPALS, SIGN_INS),
    ),
    Check(
        "R7",
        "Role that can write role assignments applies to the vault",
        M,
        "Grant role-writing roles (Owner, User Access Administrator, Key Vault Data Access Administrator) "
        "time-bound, through PIM, or not at all.",
        cis="5.3.3",
        anchors="AzGovViz 'Can do Role assignment'",
        needs=(ASSIGNMENTS,),
    ),
    Check(
        "R8",
        "Custom role or standing privileged assignment",
        I,
        "Prefer built-in roles and time-bound (PIM) grants for privileged roles.",
        cis="5.4",
        policy=("a451c1ef-c6ca-483d-87ed-f49761e3ffb5",),
        needs=(ASSIGNMENTS,),
    ),
    Check(
        "R9",
        "Vault still uses access policies, so its RBAC assignments do not govern data access",
        H,
        "Move the vault to Azure RBAC; until then audit its access policies instead.",
        cis="8.3.6",
        policy=("12d4fa5e-1f9f-4c21-97a9-b99b3c6611b5",),
    ),
    Check(
        "P1",
        "Privileged assignment not covered by a periodic access review",
        M,
        "Grant privileged roles to a group with a recurring access review (or review them in PIM).",
        cis="5.3.4",
        needs=(ASSIGNMENTS, REVIEWS),
    ),
    Check(
        "P2",
        "Assignment not covered by a periodic access review",
        L,
        "Grant the role to a group with a recurring access review instead.",
        cis="5.3.7",
        needs=(ASSIGNMENTS, REVIEWS),
    ),
    Check(
        "P3",
        "Guest access not reviewed recently",
        M,
        "Complete an access review of the group that gives the guest access.",
        cis="5.3.2",
        needs=(ASSIGNMENTS, PRINCIPALS, REVIEWS),
    ),
    Check(
        "P4",
        "Group holding a Key Vault role is not reviewed every 60 days",
        M,
        "Complete the group's overdue review, apply its decisions, or create a review (absoluteMonthly, interval 2).",
        anchors="kvnb",
        needs=(ASSIGNMENTS, REVIEWS),
    ),
)
del H, M, L, I


def at_or_above(findings: list[Finding], severity: Severity | str) -> list[Finding]:
    threshold = Severity(severity).rank
    return [finding for finding in findings if finding.severity.rank >= threshold]


def findings_table(findings: list[Finding], limitations: list[Limitation] = ()) -> pd.DataFrame:
    """One row per finding, then one per limitation (severity 'not checked'), for panels and CSV."""
    rows = [
        {
            "id": f.id,
            "severity": f.severity.value,
            "title": f.title,
            "control": f.control,
            "affected_count": len(f.affected),
            "affected": "; ".join(f.affected),
            "remediation": f.remediation,
        }
        for f in sorted(findings, key=lambda f: (-f.severity.rank, f.id))
    ]
    rows += [
        {
            "id": ", ".join(lim.checks),
            "severity": "not checked",
            "title": f"Could not read {lim.label}",
            "control": "",
            "affected_count": 0,
            "affected": "",
            "remediation": lim.reason,
        }
        for lim in limitations
    ]
    columns = ["id", "severity", "title", "control", "affected_count", "affected", "remediation"]
    return pd.DataFrame(rows, columns=columns)


def severity_counts(findings: list[Finding]) -> Mapping[str, int]:
    counts = {severity.value: 0 for severity in Severity}
    for finding in findings:
        counts[finding.severity.value] += 1
    return counts
