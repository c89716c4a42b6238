"""Durations as people type them: ``61m``, ``2h``, ``60d``, ``1w``, ``90s`` or ISO 8601 ``PT61M``."""

from __future__ import annotations

import re
from datetime import timedelta

_SHORT = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_ISO = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$",
    re.IGNORECASE,
)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(text: str) -> int:
    """*text* in whole seconds, computed without overflow however long it is; ValueError otherwise."""
    match = _SHORT.match(text)
    if match:
        return int(match[1]) * _UNITS[match[2].lower()]
    match = _ISO.match(text.strip())
    if match and any(match.groupdict().values()) and not text.strip().upper().endswith("T"):
        return sum(int(value or 0) * _UNITS[unit] for unit, value in match.groupdict().items())
    raise ValueError(f"Cannot read the duration {text!r}: use e.g. 61m, 2h, 60d or PT61M.")


def parse_duration(text: str) -> timedelta:
    """Parse *text*; raise ValueError with the accepted forms, or when it is too long to hold."""
    seconds = duration_seconds(text)
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"The duration {text!r} is too long.") from None


def iso_duration(delta: timedelta) -> str:
    """ISO 8601 form (``PT1H``, ``P60D``) as ARM's schedule requests expect."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time_part = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{time_part}" if time_part else "") if seconds else "PT0S"
