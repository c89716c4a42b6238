"""Governance errors, and `Limitation`: one table that could not be built, and why.

A report is several tables; a missing Graph permission (``AccessReview.Read.All`` is the usual
one on Azure) must cost only the table that needs it. `degrade` runs a table builder and turns a
permission failure (Graph's 403, or the access layer's `PermissionMissingError` for ARM) into a
`Limitation` naming the permission and how to get it.

The error types (`GovernanceError` and its subclasses) live in `kvnb.errors` with the rest of the
tree; they are re-exported here for the governance layer's modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, TypeVar

from kvnb.errors import (
    AccessPackageNotFoundError,
    GovernanceError,
    GroupNotFoundError,
    MissingGraphPermissionError,
    PermissionMissingError,
    ReviewNotFoundError,
)
from kvnb.graph import GraphPermissionError

T = TypeVar("T")

# What each table or action needs from Graph, and the sentence that tells the user how to get it.
REQUIREMENTS: dict[str, tuple[str, str]] = {
    "principals": ("Directory.Read.All",
                   "Ask an Entra administrator to grant Directory.Read.All "
                   "(or User.Read.All and GroupMember.Read.All)."),
    "reviews": ("AccessReview.Read.All",
                "Ask an Entra administrator for AccessReview.Read.All and the Global Reader, Security Reader or "
                "Identity Governance Administrator role, or to make you a reviewer of the group's review."),
    "review_decisions": ("AccessReview.ReadWrite.All",
                         "Only the review's reviewers can record decisions; applying them needs a reviewer or "
                         "an Identity Governance Administrator."),
    "access_packages": ("EntitlementManagement.Read.All",
                        "Ask an Entra administrator for EntitlementManagement.Read.All or a catalog reader role."),
    "access_requests": ("EntitlementManagement.ReadWrite.All",
                        "Only an approver named in the access package's policy can approve or deny its requests."),
}


@dataclass(frozen=True)
class Limitation:
    """A table left out of a report: what was refused, the permission it needs, how to get it."""

    table: str
    reason: str
    permission: str
    fix: str

    def __str__(self) -> str:
        return f"{self.table}: not available. {self.reason} Needs {self.permission}. {self.fix}"

    def _repr_html_(self) -> str:
        from html import escape

        return (f"<div class='kvnb-limitation'><b>{escape(self.table)}</b>: not available. "
                f"{escape(self.reason)} Needs <code>{escape(self.permission)}</code>. {escape(self.fix)}</div>")


def permission_error(exc: GraphPermissionError, table: str) -> MissingGraphPermissionError:
    """Graph's 403 as a short message naming what is missing."""
    permission, fix = REQUIREMENTS[table]
    detail = getattr(getattr(exc, "error", None), "message", None) or "Graph refused the request (403)."
    return MissingGraphPermissionError(f"{detail} Needs {permission}. {fix}", table=table,
                                       permission=permission, fix=fix, reason=_sentence(detail))


def degrade(table: str, build: Callable[..., T], *args, **kwargs) -> T | Limitation:
    """``build(*args, **kwargs)``, or a `Limitation` when Graph (or ARM) refuses it for lack of permission."""
    try:
        return build(*args, **kwargs)
    except MissingGraphPermissionError as exc:
        return Limitation(table=table, reason=exc.reason, permission=exc.permission, fix=exc.fix)
    except GraphPermissionError as exc:
        error = permission_error(exc, table if table in REQUIREMENTS else "principals")
        return Limitation(table=table, reason=error.reason, permission=error.permission, fix=error.fix)
    except PermissionMissingError as exc:  # the vault's role assignments (ARM) could not be read
        return Limitation(table=table, reason=exc.reason, permission=exc.action,
                          fix=exc.advice or "Ask the vault's owner for Key Vault Reader.")


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith(".") else text + "."
