"""Scrubbing a stream written in pieces: a value printed a few characters per write.

A value split over several writes never appears in one of them, so the scrubber holds back the
shortest tail of the output that a later write could still turn into a run of K characters (or
a whole short form), and passes it on with the next write or at ``flush``. A tail is held when
every 5-character piece of it occurs in some form (a Bloom filter, so now and then a tail is
held that need not be); at most K - 1 characters are held, since a longer run is a match already.
Output that ends a line is passed on whole: a value's own line breaks are forms of their own
("each line"), so a value cut at one is still found on both sides.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from kvnb.matching.index import Match, Matcher, apply, default_mask
from kvnb.matching.search import PIECE as _PIECE


class StreamScrubber:
    """``write(text)`` returns what may be shown now (scrubbed); ``flush()`` returns the rest."""

    def __init__(self, matcher: Matcher, replace: Callable[[Match], str] = default_mask) -> None:
        self._matcher = matcher
        self._replace = replace
        self._held = ""
        self._lock = threading.Lock()

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def write(self, text: str) -> str:
        with self._lock:
            ready, self._held = scrub_partial(self._matcher, self._held + text, self._replace)
        return ready

    def flush(self) -> str:
        with self._lock:
            held, self._held = self._held, ""
        return self._matcher.mask(held, self._replace) if held else ""


def scrub_partial(matcher: Matcher, buffer: str, replace: Callable[[Match], str] = default_mask) -> tuple[str, str]:
    """``(ready, held)``: ``buffer`` up to the tail a later write could continue, scrubbed, and
    that tail (to be passed in again in front of the next text, or masked when the stream ends)."""
    index = matcher.snapshot()
    if index is None:
        return buffer, ""
    matches = matcher.find(buffer)
    hold = _hold_start(buffer, index)
    if hold < len(buffer):
        for match in matches:
            if match.end == len(buffer):  # the run may go on in the next write
                hold = min(hold, match.start)
        for match in matches:  # a match reaching into the held tail is shown masked now
            if match.start < hold < match.end:
                hold = match.end
    return apply(buffer[:hold], [m for m in matches if m.end <= hold], replace), buffer[hold:]


def _hold_start(text: str, index) -> int:
    end = len(text)
    if not text or text[-1] == "\n":
        return end
    low = max(0, end - (index.min_run - 1))
    pieces = index.pieces()
    alphabet = pieces.alphabet
    start = end
    while start > low and end - start < _PIECE - 1 and text[start - 1] in alphabet:
        start -= 1
    if end - start < _PIECE - 1:
        return start
    while start > low and pieces.known(text[start - 1 : start - 1 + _PIECE]):
        start -= 1
    return start
