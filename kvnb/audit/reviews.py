"""The 60-day review status of each group holding a role on the vault, from kvnb.governance.

The derivation (audit-checks.md §2: no_review, overdue, in_progress, due, not_applied, ok) is the
governance layer's `review_status`; the audit only hands it the groups it found in the vault's
role assignments and turns a refused Graph read into a limitation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import sources

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget


def read_reviews(target: VaultTarget, groups: dict[str, list[str]], settings, *, now=None):
    """`kvnb.governance.reviews.review_status` for *groups* (group id -> role names)."""
    from ..governance.errors import GovernanceError, MissingGraphPermissionError
    from ..governance.reviews import review_status
    from ..graph import GraphPermissionError

    try:
        return review_status(
            target,
            groups=groups,
            now=settings.now or now,
            cycle_days=settings.review_interval_days,
            warning_days=settings.review_warning_days,
        )
    except MissingGraphPermissionError as exc:
        # Graph's own message and the fix both name the permission: say it once, then the fix.
        fix = exc.fix.replace(f"for {exc.permission} and ", "for it and ", 1)
        raise sources.Unavailable(f"Access reviews need {exc.permission}. {fix}") from None
    except (GovernanceError, GraphPermissionError) as exc:
        raise sources.Unavailable(f"Access reviews: {exc}") from None
