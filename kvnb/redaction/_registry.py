"""The registry of fetched values and the scrubber built from them.

Every encoded form of every registered value (see ``_needles``) goes into one regular expression
shaped like a trie — ``(?:ab(?:c|de)|x…)`` — so ``re`` looks at one branch per character instead
of trying every needle at every position. At one start the longest needle wins, so a value's
padded base64 is masked whole rather than leaving its ``==`` behind. The pattern is rebuilt lazily,
on the first scrub after an ``add``.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field

from kvnb.redaction._needles import MIN_LENGTH, needles

# Colour codes and HTML tags that syntax highlighting puts *inside* a value (around an escape
# sequence, say): the value is still readable, so it must still be found.
_MARKUP = (("\x1b", re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")), ("<", re.compile(r"<[^<>\n]*>")))
# A stream's tail is compared with needles only when its first characters start one.
_HEAD = 8


def mask(label: str, form: str = "raw") -> str:
    """The text that replaces a value (``form`` names the encoding that was found)."""
    return f"[secret {label} redacted]" if form == "raw" else f"[secret {label} redacted, {form}]"


@dataclass(frozen=True)
class _Matcher:
    """An immutable snapshot, so scrubbing needs no lock while another thread adds a value."""

    pattern: re.Pattern[str]
    masks: dict[str, str]
    sorted_needles: list[str]
    first_chars: frozenset[str]
    all_chars: frozenset[str]
    heads: frozenset[str]  # the first _HEAD characters of every needle longer than that
    longest: int
    _bytes: list = field(default_factory=list)  # [pattern, masks], built on first use only

    def bytes_matcher(self) -> tuple[re.Pattern[bytes], dict[bytes, bytes]]:
        if not self._bytes:
            encoded = {n.encode("utf-8"): m.encode("utf-8") for n, m in self.masks.items()}
            self._bytes[:] = [re.compile(_trie_pattern(encoded, b"")), encoded]
        return self._bytes[0], self._bytes[1]

    def sub(self, text: str) -> str:
        return self.unmarked(self.pattern.sub(self._mask_of, text))

    def unmarked(self, text: str) -> str:
        """``text``, or — when dropping its markup reveals a needle — the bare text, scrubbed.

        The colours or tags are lost then; the value is not shown.
        """
        for marker, markup in _MARKUP:
            if marker in text:
                bare = markup.sub("", text)
                if bare != text and self.pattern.search(bare):
                    text = self.pattern.sub(self._mask_of, bare)
        return text

    def _mask_of(self, match: re.Match) -> str:
        return self.masks[match.group()]

    def partial_start(self, text: str, start: int = 0) -> int:
        """Where the longest suffix of ``text[start:]`` that a needle could still complete begins.

        That suffix is a proper prefix of some needle: more output may finish the needle, so a
        stream must hold it back. ``len(text)`` when there is none.
        """
        end = len(text)
        if end <= start or text[-1] not in self.all_chars:  # the common case: a line ended
            return end
        for i in range(max(start, end - self.longest + 1), end):
            if text[i] not in self.first_chars or (
                    end - i >= _HEAD and text[i : i + _HEAD] not in self.heads):
                continue  # cheap rejections before copying the suffix
            suffix = text[i:]
            j = bisect_left(self.sorted_needles, suffix)
            # Needles starting with the suffix sit together from j on; the suffix itself may be one.
            while j < len(self.sorted_needles) and self.sorted_needles[j].startswith(suffix):
                if len(self.sorted_needles[j]) > len(suffix):
                    return i
                j += 1
        return end


class Registry:
    """Fetched values (held in memory only) and the scrubbing of every form of them.

    ``enabled = False`` turns scrubbing off without forgetting the values.
    """

    def __init__(self) -> None:
        self.enabled = True
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}  # value -> label
        self._matcher: _Matcher | None = None
        self._dirty = False
        # Called outside the lock: on_add(value) for each new value, on_clear() after clear().
        # The save guard (kvnb.redaction.guard) keeps its digests in step this way.
        self._subscribers: list[tuple[Callable[[str], None], Callable[[], None] | None]] = []

    def __repr__(self) -> str:
        state = "enabled" if self.enabled else "disabled"
        return f"<Registry of {len(self._values)} values, {state}>"

    def __len__(self) -> int:
        return len(self._values)

    @property
    def active(self) -> bool:
        """True when scrubbing can change output: enabled and holding at least one value."""
        return self._active_matcher() is not None

    def add(self, value: str, *, label: str) -> bool:
        """Scrub ``value`` from now on, masked as ``[secret LABEL redacted]``.

        Returns False (and scrubs nothing) for values shorter than ``MIN_LENGTH`` characters.
        """
        if not isinstance(value, str):
            raise TypeError(f"Registry.add() takes the plain str value, not {type(value).__name__}")
        if len(value) < MIN_LENGTH:
            return False
        with self._lock:
            new = value not in self._values
            if new:
                self._values[value] = label
                self._dirty = True
            subscribers = list(self._subscribers) if new else []
        for on_add, _ in subscribers:
            on_add(value)
        return True

    def clear(self) -> None:
        """Forget every value (the hooks stay installed)."""
        with self._lock:
            self._values.clear()
            self._matcher, self._dirty = None, False
            subscribers = list(self._subscribers)
        for _, on_clear in subscribers:
            if on_clear is not None:
                on_clear()

    def subscribe(self, on_add: Callable[[str], None], on_clear: Callable[[], None] | None = None) -> None:
        """Call ``on_add(value)`` for every value held now and every one added later."""
        with self._lock:
            self._subscribers.append((on_add, on_clear))
            current = list(self._values)
        for value in current:
            on_add(value)

    def unsubscribe(self, on_add: Callable[[str], None], on_clear: Callable[[], None] | None = None) -> None:
        with self._lock:
            if (on_add, on_clear) in self._subscribers:
                self._subscribers.remove((on_add, on_clear))

    def scrub(self, text: str) -> str:
        """``text`` with every form of every value replaced by its mask."""
        matcher = self._active_matcher()
        if matcher is None or not text:
            return text
        return matcher.sub(text)

    def scrub_bytes(self, data: bytes) -> bytes:
        """``scrub`` for bytes: the UTF-8 encoding of every needle is replaced."""
        matcher = self._active_matcher()
        if matcher is None or not data:
            return data
        pattern, masks = matcher.bytes_matcher()
        return pattern.sub(lambda m: masks[m.group()], bytes(data))

    def scrub_partial(self, text: str) -> tuple[str, str]:
        """Scrub text that more text may follow: ``(ready, held)``.

        ``held`` is the shortest tail that a later write could turn into a needle; it must be
        passed in again, in front of the next text, or through ``scrub`` when the stream ends.
        """
        matcher = self._active_matcher()
        if matcher is None:
            return text, ""
        hold = matcher.partial_start(text)
        parts: list[str] = []
        pos = 0
        for match in matcher.pattern.finditer(text):
            if match.start() >= hold:
                break
            parts += (text[pos : match.start()], matcher.masks[match.group()])
            pos = match.end()
            if pos > hold:  # the mask swallowed the start of the held tail: look again after it
                hold = matcher.partial_start(text, pos)
        parts.append(text[pos:hold])
        return matcher.unmarked("".join(parts)), text[hold:]

    def scrub_data(self, obj):
        """Scrub every string (keys too) and bytes object in JSON-like data.

        Returns ``obj`` itself when nothing changed, a scrubbed copy otherwise.
        """
        if self._active_matcher() is None:
            return obj
        return self._walk(obj)

    def _walk(self, obj):
        if isinstance(obj, str):
            return self.scrub(obj)
        if isinstance(obj, (bytes, bytearray, memoryview)):
            clean = self.scrub_bytes(bytes(obj))
            return obj if clean == obj else clean
        if isinstance(obj, dict):
            items = [(self._walk(k), self._walk(v)) for k, v in obj.items()]
            same = all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, obj.items()))
            return obj if same else dict(items)
        if isinstance(obj, (list, tuple)):
            clean = [self._walk(item) for item in obj]
            if all(a is b for a, b in zip(clean, obj)):
                return obj
            return tuple(clean) if isinstance(obj, tuple) else clean
        return obj

    def _active_matcher(self) -> _Matcher | None:
        if not self.enabled:
            return None
        if self._dirty:
            with self._lock:
                if self._dirty:
                    self._matcher = _build(self._values)
                    self._dirty = False
        return self._matcher


def _build(values: dict[str, str]) -> _Matcher | None:
    masks: dict[str, str] = {}
    for value, label in values.items():
        for needle, form in needles(value).items():
            masks.setdefault(needle, mask(label, form))
    if not masks:
        return None
    return _Matcher(
        pattern=re.compile(_trie_pattern(masks, "")),
        masks=masks,
        sorted_needles=sorted(masks),
        first_chars=frozenset(n[0] for n in masks),
        all_chars=frozenset("".join(masks)),
        heads=frozenset(n[:_HEAD] for n in masks if len(n) > _HEAD),
        longest=max(map(len, masks)),
    )


def _trie_pattern(words, empty):
    """A regular expression matching any of ``words`` (str or bytes), longest first at one start."""
    end = object()
    trie: dict = {}
    for word in words:
        node = trie
        for i in range(len(word)):
            node = node.setdefault(word[i : i + 1], {})
        node[end] = None
    never = "(?!)" if isinstance(empty, str) else b"(?!)"
    return _node_pattern(trie, end, empty) or never


def _node_pattern(node: dict, end, empty):
    branches = []
    for unit in sorted(k for k in node if k is not end):
        literal, child = unit, node[unit]
        while len(child) == 1 and end not in child:  # a chain without branches: one literal
            (unit, child), = child.items()
            literal += unit
        branches.append(re.escape(literal) + _node_pattern(child, end, empty))
    if not branches:
        return empty
    group, close, alt = ("(?:", ")", "|") if isinstance(empty, str) else (b"(?:", b")", b"|")
    body = branches[0] if len(branches) == 1 else group + alt.join(branches) + close
    if end in node:  # a needle ends here; a longer one may go on (greedy: longer is tried first)
        body = group + body + close + ("?" if isinstance(empty, str) else b"?")
    return body
