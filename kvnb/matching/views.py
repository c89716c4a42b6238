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
from itertools import accumulate

from kvnb.matching.literals import wrapped_line_breaks

_ANSI = r"\x1b\[[0-?]*[ -/]*[@-~]"
_TAG = r"<[^<>\n]*>"  # starts with a literal, so ``re`` skips to each "<" in C
_MARKUP = {
    (True, False): re.compile(_ANSI),
    (False, True): re.compile(_TAG),
    (True, True): re.compile(f"{_ANSI}|{_TAG}"),
}
_BYTE_PATTERNS = {pattern: re.compile(pattern.pattern.encode("ascii")) for pattern in _MARKUP.values()}
# A base64 line of 64 characters or more (PEM wraps at 64, MIME at 76) and its line end, followed
# by more base64: the line end is cut. (The look-behind starts a try only where a run starts, so
# the search stays linear in ordinary text.)
_WRAPPED = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{64,}(\r?\n)(?=[A-Za-z0-9+/=_-])")


class View:
    """``text`` without the cut spans: a list of them, or every match of a pattern (removed with
    ``sub`` in C; the map back is built only when a match in the view asks for it)."""

    def __init__(self, text: str, cut: re.Pattern | list[tuple[int, int]], data: bytes | None = None) -> None:
        self._original = text
        self.data: bytes | None = None  # the view's UTF-8, when it came at no cost
        if isinstance(cut, list):
            self._cuts: list[tuple[int, int]] | None = cut
            self.text = "".join(text[a:b] for a, b in _kept(cut, len(text)))
        else:
            self._cuts, self._pattern = None, cut
            if data is None:
                self.text = cut.sub("", text)
            else:  # the same cut on the UTF-8 (an ASCII pattern cuts whole characters): decoding
                # the view costs a tenth of encoding it again for the search
                self.data = _BYTE_PATTERNS[cut].sub(b"", data)
                self.text = self.data.decode("utf-8", "surrogatepass")
        self._view_starts: list[int] | None = None

    def _build_map(self) -> None:
        if self._cuts is None:
            self._cuts = [m.span() for m in self._pattern.finditer(self._original)]
        kept = list(_kept(self._cuts, len(self._original)))
        self._text_starts = [start for start, _ in kept]
        self._view_starts = [0, *accumulate(end - start for start, end in kept)][:-1]

    def _map(self, index: int, *, end: bool) -> int:
        i = bisect_right(self._view_starts, index - 1 if end else index) - 1
        return self._text_starts[i] + index - self._view_starts[i]

    def to_text(self, start: int, end: int) -> tuple[int, int]:
        if self._view_starts is None:
            self._build_map()
        return self._map(start, end=False), self._map(end, end=True)


def _kept(cuts: list[tuple[int, int]], length: int) -> Iterator[tuple[int, int]]:
    """The spans between the cuts (one, possibly empty, after each cut and before the first)."""
    position = 0
    for start, end in cuts:
        yield position, start
        position = end
    yield position, length


def views(text: str, data: bytes | None = None) -> Iterator[View]:
    """The readings of ``text`` that differ from it (usually none: a cheap test comes first)."""
    markup = ("\x1b" in text, "<" in text)
    if any(markup):
        view = View(text, _MARKUP[markup], data)
        if len(view.text) != len(text):
            yield view
    if "\n" in text and len(text) > 64:
        breaks = wrapped_line_breaks(text, data)
        if breaks is None:
            cuts = [m.span(1) for m in _WRAPPED.finditer(text)]
        else:
            cuts = [(i, i + (2 if text[i] == "\r" else 1)) for i in breaks]
        if cuts:
            yield View(text, cuts)
