"""Searching a text with an index snapshot: gram hits extended to runs, checked, reported.

Each form of K characters or more is cut into grams of q = K // 2 characters at offsets 0, q,
2q, … (``build``); any run of K characters of the form contains one of them whole, so it is
enough to find the grams (a C literal matcher, ``literals``) and, at each hit, to extend the run
in both directions by comparing the text with the form. Forms shorter than K are grams of their
own and count only whole. A run made only of public boilerplate is not reported.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from kvnb.matching.forms import Form
from kvnb.matching.literals import ends_in_sets
from kvnb.matching.settings import MIN_WHOLE

# A stream's held tail is checked against 5-character pieces of every form (a Bloom filter).
PIECE = 5
BLOOM_BITS = 1 << 24


@dataclass(frozen=True)
class Match:
    """``text[start:end]`` is a copy of ``label``'s value in ``form``: ``whole`` when it is an
    entire registered form, else a run of at least K characters of one. No text in it."""

    start: int
    end: int
    label: str
    form: str
    whole: bool


def default_mask(match: Match) -> str:
    """The text that replaces a match: ``[secret LABEL redacted]``, with the form when encoded."""
    if match.form in ("raw", "line", "split"):
        return f"[secret {match.label} redacted]"
    return f"[secret {match.label} redacted, {match.form}]"


@dataclass(frozen=True, repr=False)
class Entry:
    form: Form
    label: str
    value_id: int


class PieceFilter:
    """The characters and the 5-character pieces (``PIECE``) of every form, in a Bloom filter.

    Filled on first use, for the entries a snapshot holds: only a stream's held tail asks, so a
    scan or a one-off ``mask`` never pays for it. It grows in place as values are added, so an
    older snapshot may see pieces of newer values: a tail is held now and then that need not be.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bloom: bytearray | None = None
        self.alphabet: set[str] = set()
        self._done = 0  # entries whose forms are in

    def cover(self, entries: list[Entry]) -> PieceFilter:
        if self._done < len(entries):
            with self._lock:
                if self._bloom is None:
                    self._bloom = bytearray(BLOOM_BITS // 8)
                bloom, mask = self._bloom, BLOOM_BITS - 1
                for entry in entries[self._done :]:
                    text = entry.form.text
                    self.alphabet.update(text)
                    for i in range(len(text) - PIECE + 1):
                        bit = hash(text[i : i + PIECE]) & mask
                        bloom[bit >> 3] |= 1 << (bit & 7)
                self._done = max(self._done, len(entries))
        return self

    def known(self, piece: str) -> bool:
        bit = hash(piece) & (BLOOM_BITS - 1)
        return self._bloom is not None and bool(self._bloom[bit >> 3] & (1 << (bit & 7)))


class Index:
    """An immutable snapshot: scans need no lock while another thread adds a value."""

    def __init__(self, entries: list[Entry], min_run: int, shards: list[tuple], pieces: PieceFilter) -> None:
        self.entries = entries
        self.min_run = min_run
        # shards: (LiteralSet, [list of (entry number, offset)] per literal id)
        self.shards = shards
        self._sets = [literals for literals, _ in shards]
        self._pieces = pieces

    def pieces(self) -> PieceFilter:
        """The characters (``alphabet``) and 5-character pieces (``known``) of every form."""
        return self._pieces.cover(self.entries)

    def find(self, text: str, data: bytes | None = None) -> list[Match]:
        """The matches in ``text`` (``data``: its UTF-8, if at hand), unsorted, overlapping."""
        if data is None and len(self.shards) > 1:
            data = text.encode("utf-8", "surrogatepass")  # once for every shard
        found: dict[tuple[int, int], tuple[int, int]] = {}  # (entry, text - form offset) -> run
        matches: list[Match] = []
        k = self.min_run
        for (literals, postings), hits in zip(self.shards, ends_in_sets(self._sets, text, data)):
            if not hits:
                continue
            # The last match reported: a hit inside it is skipped. Another form's run through that
            # hit may reach further, but its part beyond the match holds hits of its own if it is
            # K long, and a shorter part next to a mask shows no run of K.
            covered = (0, 0)
            for literal_id, end in hits:
                gram = literals.literals[literal_id]
                start = end - len(gram)
                if covered[0] <= start and end <= covered[1]:
                    continue
                for entry_number, offset in postings[literal_id]:
                    diagonal = start - offset
                    seen = found.get((entry_number, diagonal))
                    if seen is not None and seen[0] <= start and end <= seen[1]:
                        continue
                    entry = self.entries[entry_number]
                    form = entry.form.text
                    left = _common_suffix(text, start, form, offset)
                    right = _common_prefix(text, end, form, offset + len(gram))
                    run_start, run_end = start - left, end + right
                    found[(entry_number, diagonal)] = (run_start, run_end)
                    form_start = offset - left
                    length = run_end - run_start
                    whole = length == len(form)
                    if length < k and not (whole and length >= MIN_WHOLE):
                        continue
                    public = entry.form.public
                    if public is not None and b"\0" not in public[form_start : form_start + length]:
                        continue  # boilerplate only
                    matches.append(Match(run_start, run_end, entry.label, entry.form.kind, whole))
                    if run_end - run_start > covered[1] - covered[0] or run_start >= covered[1]:
                        covered = (run_start, run_end)
        matches.sort(key=order)
        return matches


# Of matches with the same span, the simplest explanation names it.
_KIND_ORDER = {
    kind: i
    for i, kind in enumerate(("raw", "line", "split", "json", "repr", "html", "url", "base64", "base64url", "hex"))
}


def order(match: Match):
    return match.start, -match.end, not match.whole, _KIND_ORDER.get(match.form, 99)


def _common_prefix(text: str, start: int, form: str, offset: int) -> int:
    """How many characters from ``text[start]`` on equal those from ``form[offset]`` on."""
    return _gallop(
        lambda a, b: text[start + a : start + b] == form[offset + a : offset + b],
        min(len(text) - start, len(form) - offset),
    )


def _common_suffix(text: str, end: int, form: str, offset: int) -> int:
    """How many characters before ``text[end]`` equal those before ``form[offset]``."""
    return _gallop(lambda a, b: text[end - b : end - a] == form[offset - b : offset - a], min(end, offset))


def _gallop(equal, limit: int) -> int:
    """The largest n <= limit with equal(0, n), given equal(a, b) for the pieces a..b (in C)."""
    low, step = 0, 8
    while low < limit:
        high = min(low + step, limit)
        if equal(low, high):
            low, step = high, step * 2
        elif high - low == 1:
            break
        else:
            step = max(1, (high - low) // 2)
    return low
