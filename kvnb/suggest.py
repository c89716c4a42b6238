""" "Did you mean …?" for a mistyped name: a secret, a persona, a vault."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["close_matches", "did_you_mean"]


def close_matches(word: str, candidates: Iterable[str], n: int = 3) -> tuple[str, ...]:
    """Up to *n* of *candidates* close to *word*, ignoring case, spelled as the candidates are."""
    by_folded = {c.casefold(): c for c in candidates if c}
    return tuple(by_folded[m] for m in difflib.get_close_matches(word.casefold(), list(by_folded), n=n))


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` Did you mean lead?`` (with a leading space), or nothing when no candidate is close."""
    matches = close_matches(word, candidates)
    return f" Did you mean {', '.join(matches)}?" if matches else ""
