"""The registry of fetched values; scrubbing is the matching engine's (``kvnb.matching``).

Every form of every registered value is masked, whole or in runs of K characters (K:
``min_run``, from ``%config KvMagics.redact_min_run`` / ``KVNB_REDACT_MIN_RUN``, default 16).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from kvnb.matching import MIN_WHOLE, Match, Matcher, check_min_run
from kvnb.matching.stream import scrub_partial

MIN_LENGTH = MIN_WHOLE


def mask(label: str, form: str = "raw") -> str:
    """The text that replaces a value (``form`` names the encoding that was found)."""
    if form in ("raw", "line", "split"):
        return f"[secret {label} redacted]"
    return f"[secret {label} redacted, {form}]"


def _mask_match(match: Match) -> str:
    return mask(match.label, match.form)


class Registry:
    """Fetched values (held in memory only) and the scrubbing of every form of them.

    ``enabled = False`` turns scrubbing off without forgetting the values.
    """

    def __init__(self, min_run: int | None = None) -> None:
        self.enabled = True
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}  # value -> label
        self._matcher = Matcher(min_run)
        # Called outside the lock: on_add(value) for each new value, on_clear() after clear().
        # The save guard (kvnb.redaction.guard) keeps its digests in step this way.
        self._subscribers: list[tuple[Callable[[str], None], Callable[[], None] | None]] = []

    def __repr__(self) -> str:
        state = "enabled" if self.enabled else "disabled"
        return f"<Registry of {len(self._values)} values, {state}>"

    def __len__(self) -> int:
        return len(self._values)

    @property
    def matcher(self) -> Matcher:
        return self._matcher

    @property
    def min_run(self) -> int:
        """K: runs of this many characters of a form are masked."""
        return self._matcher.min_run

    @min_run.setter
    def min_run(self, value: int) -> None:
        value = check_min_run(value)
        with self._lock:
            if value == self._matcher.min_run:
                return
            matcher = Matcher(value)
            for text, label in self._values.items():
                matcher.add(text, label)
            self._matcher = matcher

    @property
    def active(self) -> bool:
        """True when scrubbing can change output: enabled and holding at least one value."""
        return self.enabled and bool(self._values)

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
                self._matcher.add(value, label)
            subscribers = list(self._subscribers) if new else []
        for on_add, _ in subscribers:
            on_add(value)
        return True

    def clear(self) -> None:
        """Forget every value (the hooks stay installed)."""
        with self._lock:
            self._values.clear()
            self._matcher.clear()
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
        """``text`` with every form of every value, and every run of K characters of one, masked."""
        if not self.active or not text:
            return text
        return self._matcher.mask(text, _mask_match)

    def scrub_bytes(self, data: bytes) -> bytes:
        """``scrub`` for bytes, read as UTF-8 (bytes that are not stay as they are)."""
        if not self.active or not data:
            return data
        text = bytes(data).decode("utf-8", "surrogateescape")
        clean = self.scrub(text)
        return bytes(data) if clean == text else clean.encode("utf-8", "surrogateescape")

    def scrub_partial(self, text: str) -> tuple[str, str]:
        """Scrub text that more text may follow: ``(ready, held)``.

        ``held`` is the shortest tail that a later write could turn into a match; it must be
        passed in again, in front of the next text, or through ``scrub`` when the stream ends.
        """
        if not self.active:
            return text, ""
        return scrub_partial(self._matcher, text, _mask_match)

    def scrub_data(self, obj):
        """Scrub every string (keys too) and bytes object in JSON-like data.

        Returns ``obj`` itself when nothing changed, a scrubbed copy otherwise.
        """
        if not self.active:
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
