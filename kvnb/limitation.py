"""`Limitation`: what a report could not show for lack of permission, why, and what to request.

One type for the audit (checks it could not run, per data source) and the governance reports (a
table left out): a missing permission costs only what needs it, and says how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

# What people call each source; the keys are the audit's data sources and the governance reports' tables.
SOURCE_LABELS = {
    "secrets": "the secret list",
    "secrets_first_page": "the secret list",
    "versions": "secret versions",
    "assignments": "role assignments",
    "role_assignments": "role assignments",
    "principals": "directory names and groups",
    "reviews": "access reviews",
    "review_decisions": "review decisions",
    "access_requests": "access requests",
    "vault": "the vault's configuration",
    "diagnostics": "diagnostic settings",
    "defender": "Microsoft Defender for Key Vault",
    "sign_ins": "sign-in logs",
}


@dataclass(frozen=True)
class Limitation:
    """*source* (a table or a data source) was not visible: *reason*, *permission* it needs, *fix*.

    ``checks`` names the audit checks left unrun because of it (empty outside the audit).
    """

    checks: tuple[str, ...]
    source: str
    reason: str
    permission: str | None = None
    fix: str | None = None

    @property
    def label(self) -> str:
        """The source as people call it: ``sign-in logs`` for ``sign_ins``."""
        return SOURCE_LABELS.get(self.source, self.source.replace("_", " "))

    def __str__(self) -> str:
        needs = f" Needs {self.permission}." if self.permission else ""
        return f"{self.label}: not available. {self.reason}{needs}" + (f" {self.fix}" if self.fix else "")

    def _repr_html_(self) -> str:
        from html import escape

        needs = f" Needs <code>{escape(self.permission)}</code>." if self.permission else ""
        return (
            f"<div class='kvnb-limitation'><b>{escape(self.label)}</b>: not available. "
            f"{escape(self.reason)}{needs} {escape(self.fix or '')}</div>"
        )

    def to_dict(self) -> dict:
        """For JSON reports; ``permission`` and ``fix`` only when known."""
        known = {"permission": self.permission, "fix": self.fix}
        return {
            "checks": list(self.checks),
            "source": self.source,
            "reason": self.reason,
            **{k: v for k, v in known.items() if v is not None},
        }
