"""Searching a text with an index snapshot: gram hits extended to runs, checked, reported.

Each form of K characters or more is cut into grams of q = K // 2 characters at offsets 0, q,
2q, … (``build``); any run of K characters of the form contains one of them whole, so it is
enough to find the grams (a C literal matcher, ``literals``) and, at each hit, to extend the run
in both directions by comparing the text with the form. Forms shorter than K are grams of their
own and count only whole. A run made only of public boilerplate is not reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from kvnb.matching.forms import Form
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


class Index:
    """An immutable snapshot: scans need no lock while another thread adds a value."""

    def __init__(self, entries: list[Entry], min_run: int, shards: list[tuple],
                 alphabet: frozenset[str], bloom: bytes) -> None:
        self.entries = entries
        self.min_run = min_run
        # shards: (LiteralSet, [list of (entry number, offset)] per literal id)
        self.shards = shards
        self.alphabet = alphabet  # every character of every form
        self.bloom = bloom  # every 5-character piece of every form (``PIECE``, ``BLOOM_BITS``)

    def piece_known(self, piece: str) -> bool:
        bit = hash(piece) & (BLOOM_BITS - 1)
        return bool(self.bloom[bit >> 3] & (1 << (bit & 7)))

    def find(self, text: str, data: bytes | None = None) -> list[Match]:
        """The matches in ``text`` (``data``: its UTF-8, if at hand), unsorted, overlapping."""
        if data is None and len(self.shards) > 1:
            data = text.encode("utf-8", "surrogatepass")  # once for every shard
        found: dict[tuple[int, int], tuple[int, int]] = {}  # (entry, text - form offset) -> run
        matches: list[Match] = []
        k = self.min_run
        for literals, postings in self.shards:
            hits = literals.ends(text, data)
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
_KIND_ORDER = {kind: i for i, kind in enumerate(
    ("raw", "line", "split", "json", "repr", "html", "url", "base64", "base64url", "hex"))}


def order(match: Match):
    return match.start, -match.end, not match.whole, _KIND_ORDER.get(match.form, 99)


def _common_prefix(text: str, start: int, form: str, offset: int) -> int:
    """How many characters from ``text[start]`` on equal those from ``form[offset]`` on."""
    return _gallop(lambda a, b: text[start + a : start + b] == form[offset + a : offset + b],
                   min(len(text) - start, len(form) - offset))


def _common_suffix(text: str, end: int, form: str, offset: int) -> int:
    """How many characters before ``text[end]`` equal those before ``form[offset]``."""
    return _gallop(lambda a, b: text[end - b : end - a] == form[offset - b : offset - a],
                   min(end, offset))


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
