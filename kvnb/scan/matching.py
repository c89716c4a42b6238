"""Find needles in text: a cheap whole-file test on bytes, then exact spans on decoded text."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .needles import Needle


@dataclass(frozen=True)
class Hit:
    """A confirmed copy at ``start:end`` of the text searched (the span that gets masked)."""

    start: int
    end: int
    label: str
    form: str


class NeedleMatcher:
    """Searches for known needles.

    Measured on a 5 MB tree with 30 needles, one ``bytes.find`` per needle runs about four times
    faster than a single ``re`` alternation (CPython's ``re`` tries every branch at every position)
    and twice as fast as pyahocorasick, which also needs the bytes decoded to ``str`` first.
    """

    # A hit found by ``may_match`` is certain, so a file that passes it but yields no hit in its
    # parsed notebook cells is still reported, by line and column.
    confirms_hits = True

    def __init__(self, needles: Iterable[Needle]):
        self._by_text: dict[str, list[Needle]] = {}
        for needle in needles:
            self._by_text.setdefault(needle.text, []).append(needle)
        if not self._by_text:
            raise ValueError("nothing to search for: give at least one value")
        self._encoded = [text.encode("utf-8") for text in self._by_text]
        # Notebooks split multi-line strings into one JSON string per line, so a multi-line value
        # never appears whole in the file; such notebooks must always be parsed.
        self._multiline = any("\n" in text for text in self._by_text)

    @property
    def labels(self) -> list[str]:
        return sorted({needle.label for group in self._by_text.values() for needle in group})

    def may_match(self, data: bytes, *, notebook: bool = False) -> bool:
        if notebook and self._multiline:
            return True
        return any(needle in data for needle in self._encoded)

    def hits(self, text: str) -> list[Hit]:
        found: list[Hit] = []
        for needle_text, needles in self._by_text.items():
            start = text.find(needle_text)
            while start >= 0:  # each turn moves ``start`` forward, so it ends
                confirmed = False
                for needle in needles:
                    span = needle.confirm(text, start)
                    if span is not None:
                        found.append(Hit(span[0], span[1], needle.label, needle.form))
                        confirmed = True
                step = len(needle_text) if confirmed else 1
                start = text.find(needle_text, start + step)
        found.sort(key=lambda hit: (hit.start, hit.label, hit.form))
        return found
