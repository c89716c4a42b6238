"""The one setting every consumer of the engine reads: K, the shortest run that counts as a copy."""

from __future__ import annotations

import os

from kvnb.errors import KvnbError

ENV_MIN_RUN = "KVNB_REDACT_MIN_RUN"
DEFAULT_MIN_RUN = 16
# A run shorter than this matches ordinary words; a run longer than this would let long pieces of
# a value through. Whole forms of MIN_WHOLE characters or more match at any K.
MIN_RUN_RANGE = (8, 4096)
MIN_WHOLE = 6


class MinRunError(KvnbError, ValueError):
    """``KVNB_REDACT_MIN_RUN`` (or ``redact_min_run``) is not a whole number in range."""

    def __init__(self, setting: str, given: object) -> None:
        self.setting, self.given = setting, given
        low, high = MIN_RUN_RANGE
        super().__init__(
            f"{setting} must be a whole number from {low} to {high} "
            f"(characters; default {DEFAULT_MIN_RUN}), not {given!r}."
        )


def check_min_run(value: object, setting: str = "redact_min_run") -> int:
    """``value`` as K, or MinRunError."""
    low, high = MIN_RUN_RANGE
    if isinstance(value, bool):
        raise MinRunError(setting, value)
    try:
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise MinRunError(setting, value) from None
    if (isinstance(value, float) and value != number) or not low <= number <= high:
        raise MinRunError(setting, value)
    return number


def redact_min_run() -> int:
    """K from ``KVNB_REDACT_MIN_RUN`` (default 16): runs of K characters of a form are copies."""
    given = os.environ.get(ENV_MIN_RUN, "").strip()
    if not given:
        return DEFAULT_MIN_RUN
    return check_min_run(given, ENV_MIN_RUN)
