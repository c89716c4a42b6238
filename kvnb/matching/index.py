"""The matcher: every run of K or more characters of any form of any registered value.

Searching every substring of every form is the naive way; instead each form of K characters or
more is cut into grams of q = K // 2 characters at offsets 0, q, 2q, … Any run of K characters of
the form contains one of those grams whole, so it is enough to find the grams (a C literal
matcher, ``literals``) and, at each hit, to extend the run in both directions by comparing the
text with the form. Forms shorter than K are grams of their own and count only whole.

A run made only of public boilerplate (``boilerplate``) is not a copy and is not reported.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from kvnb.matching.forms import Form, forms_of, split_forms
from kvnb.matching.literals import (
    SHARD_SIZE,
    SHORT_TEXT,
    literal_set,
    release_freed_memory,
)
from kvnb.matching.settings import MIN_WHOLE, check_min_run, redact_min_run
from kvnb.matching.structured import secret_parts
from kvnb.matching.views import views

# A stream's held tail is checked against 5-character pieces of every form (a Bloom filter).
_PIECE = 5
_BLOOM_BITS = 1 << 24


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
class _Entry:
    form: Form
    label: str
    value_id: int


class _Index:
    """An immutable snapshot: scans need no lock while another thread adds a value."""

    def __init__(self, entries: list[_Entry], min_run: int, shards: list[tuple]) -> None:
        self.entries = entries
        self.min_run = min_run
        # shards: (LiteralSet, [list of (entry number, offset)] per literal id)
        self.shards = shards
        self.alphabet = frozenset("".join(e.form.text for e in entries))
        bloom = bytearray(_BLOOM_BITS // 8)
        mask = _BLOOM_BITS - 1
        for entry in entries:
            text = entry.form.text
            for i in range(len(text) - _PIECE + 1):
                bit = hash(text[i : i + _PIECE]) & mask
                bloom[bit >> 3] |= 1 << (bit & 7)
        self.bloom = bytes(bloom)

    def piece_known(self, piece: str) -> bool:
        bit = hash(piece) & (_BLOOM_BITS - 1)
        return bool(self.bloom[bit >> 3] & (1 << (bit & 7)))

    def find(self, text: str, data: bytes | None = None) -> list[Match]:
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
        matches.sort(key=_order)
        return matches


# Of matches with the same span, the simplest explanation names it.
_KIND_ORDER = {kind: i for i, kind in enumerate(
    ("raw", "line", "split", "json", "repr", "html", "url", "base64", "base64url", "hex"))}


def _order(match: Match):
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


class Matcher:
    """Registered values and the search for every form of them, whole or in runs of K characters.

    ``add`` and ``discard`` are cheap; the index is rebuilt on the next ``find`` after a change.
    Thread-safe: a search works on an immutable snapshot.
    """

    def __init__(self, min_run: int | None = None) -> None:
        self.min_run = redact_min_run() if min_run is None else check_min_run(min_run)
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}  # value -> label (parts of structured values included)
        self._top: dict[str, str] = {}  # the values given to add() themselves -> label
        self._index: _Index | None = None
        self._dirty = False

    def __repr__(self) -> str:
        return f"<Matcher of {len(self)} values, K={self.min_run}>"

    def __len__(self) -> int:
        return len(self._top)

    def add(self, value: str, label: str) -> None:
        """Register ``value`` (and its secret parts, if structured) under ``label``."""
        if not isinstance(value, str):
            raise TypeError(f"Matcher.add() takes the plain str value, not {type(value).__name__}")
        with self._lock:
            if value in self._top:
                return
            self._top[value] = label
            for text in [value, *secret_parts(value)]:
                if len(text) >= MIN_WHOLE:
                    self._values.setdefault(text, label)
            self._dirty = True

    def discard(self, label: str) -> None:
        """Forget every value registered under ``label``."""
        with self._lock:
            gone = [v for v, lab in self._values.items() if lab == label]
            for value in gone:
                del self._values[value]
            self._top = {v: lab for v, lab in self._top.items() if lab != label}
            self._dirty = self._dirty or bool(gone)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._top.clear()
            self._index, self._dirty = None, False

    def labels(self) -> list[str]:
        return sorted(set(self._values.values()))

    def snapshot(self) -> _Index | None:
        """The current index (None when nothing is registered)."""
        if self._dirty:
            with self._lock:
                if self._dirty:
                    self._index = _build(self._values, self.min_run)
                    self._dirty = False
        return self._index

    def find(self, text: str) -> list[Match]:
        """The matches in ``text``, also through markup and MIME line breaks: sorted by start, none
        inside another (of one span, the simplest form's is kept)."""
        index = self.snapshot()
        if index is None or not text:
            return []
        data = text.encode("utf-8", "surrogatepass") if len(text) > SHORT_TEXT else None
        matches = index.find(text, data)
        if "<" in text or "\x1b" in text or "\n" in text and len(text) > 64:
            for view in views(text, data):
                matches += _new_in_view(view, index.find(view.text), matches)
                matches.sort(key=_order)
        if len(matches) < 2:
            return matches
        outermost: list[Match] = []
        for match in matches:
            if not outermost or match.end > outermost[-1].end:
                outermost.append(match)
        return outermost

    def mask(self, text: str, replace: Callable[[Match], str] = default_mask) -> str:
        """``text`` with every match replaced by ``replace(match)`` (overlapping matches merged)."""
        return apply(text, self.find(text), replace)

    def may_match(self, data: bytes) -> bool:
        """A fast test on bytes: False means no form of any value can be in ``data``."""
        index = self.snapshot()
        if index is None:
            return False
        return any(literals.any_in(data) for literals, _ in index.shards)


def _new_in_view(view, found: list[Match], matches: list[Match]) -> list[Match]:
    """The matches of a view mapped back to the text, leaving out those the text showed as well.

    A view shows everything its text shows, shifted; mapping every position back costs a pass
    over the text, so only matches with no counterpart of the same shape in the text are mapped.
    """
    def shape(m: Match):
        return m.label, m.form, m.end - m.start, m.whole

    seen: dict[tuple, int] = {}
    for m in matches:
        seen[shape(m)] = seen.get(shape(m), 0) + 1
    wanted: dict[tuple, int] = {}
    for m in found:
        wanted[shape(m)] = wanted.get(shape(m), 0) + 1
    extra = {key for key, count in wanted.items() if count > seen.get(key, 0)}
    mapped = []
    for m in found:
        if shape(m) in extra:
            start, end = view.to_text(m.start, m.end)
            mapped.append(Match(start, end, m.label, m.form, m.whole))
    return mapped


def apply(text: str, matches: list[Match], replace: Callable[[Match], str] = default_mask) -> str:
    """``text`` with the spans of ``matches`` (sorted by start) replaced; overlaps merge."""
    if not matches:
        return text
    pieces: list[str] = []
    position = 0
    current: Match | None = None
    current_end = 0
    for match in matches:
        if current is not None and match.start <= current_end:
            current_end = max(current_end, match.end)
            continue
        if current is not None:
            pieces.append(replace(current))
            position = current_end
        pieces.append(text[position : match.start])
        current, current_end = match, match.end
    pieces.append(replace(current))
    pieces.append(text[current_end:])
    return "".join(pieces)


def _edge_offsets(public: bytes, q: int) -> set[int]:
    """Where the grams start that hold the last character before a stretch of boilerplate (and
    q - 1 of it), or the first one after it.

    A run of K = 2q characters whose other characters are all fewer than q, at one edge of a
    stretch of boilerplate, holds no aligned gram with any of them; it holds one of these.
    """
    offsets = set()
    for i in range(len(public) - 1):
        if public[i] == 0 and public[i + 1] == 1 and i + q <= len(public):
            offsets.add(i)
        elif public[i] == 1 and public[i + 1] == 0 and i + 2 - q >= 0:
            offsets.add(i + 2 - q)
    return offsets


def _build(values: dict[str, str], min_run: int) -> _Index | None:
    if not values:
        return None
    entries: list[_Entry] = []
    seen: set[str] = set()
    for value_id, (value, label) in enumerate(values.items()):
        forms = forms_of(value, min_length=MIN_WHOLE)
        for form in forms + split_forms(forms, min_run):
            if form.text not in seen:
                seen.add(form.text)
                entries.append(_Entry(form, label, value_id))
    q = max(1, min_run // 2)
    literal_ids: dict[str, int] = {}
    literals: list[str] = []
    postings: list[list[tuple[int, int]]] = []
    for number, entry in enumerate(entries):
        text, public = entry.form.text, entry.form.public
        if len(text) < min_run:
            grams = [(text, 0)]
        else:
            offsets = set(range(0, len(text) - q + 1, q))
            if public is not None:
                offsets |= _edge_offsets(public, q)
            grams = [(text[i : i + q], i) for i in sorted(offsets)]
        for gram, offset in grams:
            if public is not None and 0 not in public[offset : offset + len(gram)]:
                # Boilerplate only: every connection string has it, ordinary output too. A run
                # that counts holds another character, and the grams at the edges of each
                # stretch of boilerplate (``_edge_offsets``) catch one that holds only a few.
                continue
            literal_id = literal_ids.get(gram)
            if literal_id is None:
                literal_id = literal_ids[gram] = len(literals)
                literals.append(gram)
                postings.append([])
            postings[literal_id].append((number, offset))
    shards = []
    for first in range(0, len(literals), SHARD_SIZE):
        chunk = literals[first : first + SHARD_SIZE]
        shards.append((literal_set(chunk), postings[first : first + SHARD_SIZE]))
    release_freed_memory()
    return _Index(entries, min_run, shards)
