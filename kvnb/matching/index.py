"""The matcher: registered values, and every match of any of their forms in a text.

``Matcher`` keeps the values and an index snapshot (``build``, rebuilt on the first search after a
change); ``search`` finds the matches of one text; the text is also read without its markup and
with MIME line breaks joined (``views``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from kvnb.matching.build import IndexBuilder
from kvnb.matching.literals import SHORT_TEXT
from kvnb.matching.search import Index, Match, default_mask, order
from kvnb.matching.settings import MIN_WHOLE, check_min_run, redact_min_run
from kvnb.matching.structured import secret_parts
from kvnb.matching.views import views

__all__ = ["Match", "Matcher", "apply", "default_mask"]


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
        self._index: Index | None = None
        self._builder = IndexBuilder(self.min_run)
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

    def snapshot(self) -> Index | None:
        """The current index (None when nothing is registered)."""
        if self._dirty:
            with self._lock:
                if self._dirty:
                    self._index = self._builder.build(self._values)
                    self._dirty = False
        return self._index

    def find(self, text: str) -> list[Match]:
        """The matches in ``text``, also through markup and MIME line breaks: sorted by start, none
        inside another (of one span, the simplest form's is kept)."""
        index = self.snapshot()
        if index is None or len(text) < MIN_WHOLE:  # shorter than any gram
            return []
        data = text.encode("utf-8", "surrogatepass") if len(text) > SHORT_TEXT else None
        matches = index.find(text, data)
        if "<" in text or "\x1b" in text or ("\n" in text and len(text) > 64):
            for view in views(text, data):
                matches += _new_in_view(view, index.find(view.text, view.data), matches)
                matches.sort(key=order)
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

    def may_match_each(self, datas: list[bytes]) -> list[bool]:
        """``may_match`` of each of ``datas``, with one search of them all (many small files)."""
        index = self.snapshot()
        passed = [False] * len(datas)
        if index is None:
            return passed
        for literals, _ in index.shards:
            for number in literals.found_in_each(datas):
                passed[number] = True
        return passed


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
