"""Governance errors, and `degrade`: a table that could not be built becomes a `Limitation` saying why.

A report is several tables; a missing Graph permission (``AccessReview.Read.All`` is the usual
one on Azure) must cost only the table that needs it. `degrade` runs a table builder and turns a
permission failure (Graph's 403, or the access layer's `PermissionMissingError` for ARM) into a
`Limitation` naming the permission and how to get it.

The error types (`GovernanceError` and its subclasses) live in `kvnb.errors` with the rest of the
tree; they are re-exported here for the governance layer's modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from kvnb.errors import (
    AccessPackageNotFoundError,
    GovernanceError,
    GroupNotFoundError,
    MissingGraphPermissionError,
    PermissionMissingError,
    ReviewNotFoundError,
)
from kvnb.graph import REQUIREMENTS, GraphPermissionError, permission_error
from kvnb.limitation import Limitation

T = TypeVar("T")


def degrade(table: str, build: Callable[..., T], *args, **kwargs) -> T | Limitation:
    """``build(*args, **kwargs)``, or a `Limitation` when Graph (or ARM) refuses it for lack of permission."""
    try:
        return build(*args, **kwargs)
    except MissingGraphPermissionError as exc:
        return Limitation((), table, exc.reason, permission=exc.permission, fix=exc.fix)
    except GraphPermissionError as exc:
        error = permission_error(exc, table if table in REQUIREMENTS else "principals")
        return Limitation((), table, error.reason, permission=error.permission, fix=error.fix)
    except PermissionMissingError as exc:  # the vault's role assignments (ARM) could not be read
        return Limitation(
            (),
            table,
            exc.reason,
            permission=exc.action,
            fix=exc.advice or "Ask the vault's owner for Key Vault Reader.",
        )


__all__ = [
    "REQUIREMENTS",
    "AccessPackageNotFoundError",
    "GovernanceError",
    "GroupNotFoundError",
    "Limitation",
    "MissingGraphPermissionError",
    "ReviewNotFoundError",
    "degrade",
    "permission_error",
]
