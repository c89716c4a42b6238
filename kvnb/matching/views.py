"""Other readings of a text, in which a value hidden by formatting shows again.

* Markup: syntax highlighting puts colour codes or HTML tags *inside* a value (around an escape
  sequence, say); the value is still readable on screen, so it must still be found.
* MIME: ``base64.encodebytes`` and e-mail break base64 every 76 characters (PEM every 64); the
  line break may fall anywhere in a value's encoding.

A view is the text with some spans cut out; ``to_text`` maps a span of the view back to the span
of the original text that shows it (cut-out pieces inside it included, so they are masked too).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator

from kvnb.matching.literals import wrapped_line_breaks

_MARKUP = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|<[^<>\n]*>")
# A base64 line of 64 characters or more (PEM wraps at 64, MIME at 76) and its line end, followed
# by more base64: the line end is cut. (The look-behind starts a try only where a run starts, so
# the search stays linear in ordinary text.)
_WRAPPED = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{64,}(\r?\n)(?=[A-Za-z0-9+/=_-])")


class View:
    def __init__(self, text: str, cuts: list[tuple[int, int]]) -> None:
        pieces, self._view_starts, self._text_starts = [], [], []
        position = view_position = 0
        for start, end in cuts + [(len(text), len(text))]:
            self._view_starts.append(view_position)
            self._text_starts.append(position)
            pieces.append(text[position:start])
            view_position += start - position
            position = end
        self.text = "".join(pieces)

    def _map(self, index: int, *, end: bool) -> int:
        i = bisect_right(self._view_starts, index - 1 if end else index) - 1
        return self._text_starts[i] + index - self._view_starts[i]

    def to_text(self, start: int, end: int) -> tuple[int, int]:
        return self._map(start, end=False), self._map(end, end=True)


def views(text: str) -> Iterator[View]:
    """The readings of ``text`` that differ from it (usually none: a cheap test comes first)."""
    if "\x1b" in text or "<" in text:
        cuts = [m.span() for m in _MARKUP.finditer(text)]
        if cuts:
            yield View(text, cuts)
    if "\n" in text and len(text) > 64:
        breaks = wrapped_line_breaks(text.encode("ascii")) if text.isascii() else None
        if breaks is None:
            cuts = [m.span(1) for m in _WRAPPED.finditer(text)]
        else:
            cuts = [(i, i + (2 if text[i] == "\r" else 1)) for i in sorted(set(breaks))]
        if cuts:
            yield View(text, cuts)
