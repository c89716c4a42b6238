"""Stream messages scrubbed as one stream: a value cut by ipykernel's pipe reads is still found.

Output written to file descriptors 1 and 2 (``os.write``, subprocesses, C code) reaches ipykernel
through a pipe that a thread reads 1000 bytes at a time, decoding each read on its own; what was
read in one flush interval leaves as one ``stream`` message. A value can thus be cut across two
messages, a multi-byte character in it turned into U+FFFD on both sides of the cut. Each stream
(stdout, stderr) of each parent message therefore keeps a held tail, like ``ScrubbingStream``:
the tail a later message could continue goes out in front of the next message of that stream,
before any other message (a display, the reply, the kernel going idle), or after ``LINGER``
seconds without more output.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from kvnb.redaction._registry import Registry

LINGER = 0.5


class StreamJoiner:
    """Holds back the tail of each stream's text; ``send`` is the session's original send."""

    def __init__(self, registry: Registry, send: Callable) -> None:
        self._registry = registry
        self._send = send
        self._lock = threading.RLock()
        # stream name -> (held text, the message it came in, its send arguments)
        self._held: dict[str, tuple[str, dict, tuple]] = {}
        self._timer: threading.Timer | None = None

    def stream_text(self, msg: dict, text: str, args: tuple) -> str:
        """The part of ``text`` (a stream message's) to send now; the rest is held."""
        name = msg["content"].get("name", "stdout")
        with self._lock:
            previous = self._held.pop(name, None)
            buffer = text
            if previous is not None:
                if previous[1].get("parent_header") == msg.get("parent_header"):
                    buffer = previous[0] + text
                else:  # another cell's output: the held tail ends with its own cell
                    self._release(previous)
            ready, held = self._registry.scrub_partial(buffer)
            if held:
                self._held[name] = (held, msg, args)
                self._arm()
            return ready

    def release(self) -> None:
        """Send every held tail (scrubbed): something else is about to be sent."""
        with self._lock:
            held, self._held = list(self._held.values()), {}
            for entry in held:
                self._release(entry)

    def _release(self, entry: tuple[str, dict, tuple]) -> None:
        text, msg, (stream, ident, buffers, track, header, metadata) = entry
        clean = self._registry.scrub(text)
        content = {**msg["content"], "text": clean}
        message = {**msg, "content": content}
        self._send(stream, message, None, None, ident, buffers, track, header, metadata)

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(LINGER, self.release)
        self._timer.daemon = True
        self._timer.start()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.release()
