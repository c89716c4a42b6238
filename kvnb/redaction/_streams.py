"""A text stream that scrubs what is written to it, even a value written in pieces.

A value printed character by character, or split over several ``write`` calls, never appears
whole in one call. The wrapper therefore holds back the shortest tail of the output that a later
write could still complete into a needle (usually nothing: a line ending in ``\\n`` is passed on
at once) and sends it on with the next write, or when ``release()`` is called at the end of a cell.
``flush()`` does not release it: ``print(c, end="", flush=True)`` is exactly the split case.
"""

from __future__ import annotations

import threading

from kvnb.redaction._registry import Registry


class ScrubbingStream:
    """Wraps a text stream (``sys.stdout``, ipykernel's ``OutStream``); the rest passes through."""

    def __init__(self, inner, registry: Registry) -> None:
        self._inner = inner
        self._registry = registry
        self._held = ""
        self._lock = threading.RLock()
        self.active = True  # False once uninstalled while something else still wraps us

    @property
    def inner(self):
        return self._inner

    def write(self, text: str) -> int:
        if not isinstance(text, str) or not self.active:
            return self._inner.write(text)
        with self._lock:
            ready, self._held = self._registry.scrub_partial(self._held + text)
            if ready:
                self._inner.write(ready)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._inner.flush()

    def release(self) -> None:
        """Write out the held tail (scrubbed): the output it could have continued has ended."""
        with self._lock:
            held, self._held = self._held, ""
            if held:
                self._inner.write(self._registry.scrub(held))
        self._inner.flush()

    def __getattr__(self, name: str):
        # Only reached for attributes not defined here: encoding, fileno, isatty, set_parent, …
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return f"<ScrubbingStream around {self._inner!r}>"
