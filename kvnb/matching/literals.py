"""Finding many short literals in a long text at C speed: Hyperscan, else Aho-Corasick.

Measured on this machine (10 MB of text, 100,000 literals of 8 characters): Hyperscan scans
~190 MB/s including the UTF-8 encoding of the text, pyahocorasick 6-12 MB/s (``re`` and
per-literal ``str.find`` are slower still at this count). Hyperscan wheels exist for x86-64 Linux
and macOS; elsewhere pyahocorasick is the fallback.

Hyperscan's compile time and memory grow with the number of literals (14,000 literals, the grams of
100 values, took 47 MB at the peak in one piece), so literals are compiled in shards of at most
``SHARD_SIZE`` (two for 100 values: 35 MB at the peak, one more scan per search), and the memory
the compiler freed is handed back to the system after each (glibc keeps it otherwise).
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Sequence

try:
    import hyperscan
except ImportError:  # no wheel for this platform
    hyperscan = None

SHARD_SIZE = 8000
SHORT_TEXT = 256


def literal_set(literals: Sequence[str]) -> LiteralSet:
    """The literals, ready to search: with Hyperscan if it is installed."""
    return (_HyperscanSet if hyperscan is not None else _AhoCorasickSet)(literals)


class LiteralSet:
    """An immutable set of literals (``str``); ``ends(text)`` gives ``(literal id, end index)``."""

    def __init__(self, literals: Sequence[str]) -> None:
        self.literals = list(literals)
        # For short texts (a print) a dictionary of the literals' first characters beats the
        # C matcher's per-call cost: one lookup per position.
        self._by_head: dict[str, list[int]] = {}
        self._head = min(map(len, self.literals), default=1)
        for i, literal in enumerate(self.literals):
            self._by_head.setdefault(literal[: self._head], []).append(i)

    def ends(self, text: str, data: bytes | None = None) -> list[tuple[int, int]]:
        """``(literal id, end)`` of every occurrence; ``data``: ``text`` in UTF-8, if at hand."""
        if len(text) <= SHORT_TEXT and not isinstance(self, _HyperscanSet):
            return self._short_ends(text)
        return self._long_ends(text, data)

    def _short_ends(self, text: str) -> list[tuple[int, int]]:
        found = []
        head, by_head, literals = self._head, self._by_head, self.literals
        for i in range(len(text) - head + 1):
            ids = by_head.get(text[i : i + head])
            if ids:
                for literal_id in ids:
                    if text.startswith(literals[literal_id], i):
                        found.append((literal_id, i + len(literals[literal_id])))
        return found

    def _long_ends(self, text: str, data: bytes | None) -> list[tuple[int, int]]:
        raise NotImplementedError

    def any_in(self, data: bytes) -> bool:
        raise NotImplementedError

    def found_in_each(self, datas: Sequence[bytes]) -> set[int]:
        """The numbers of the ``datas`` in which some literal occurs."""
        return {number for number, data in enumerate(datas) if self.any_in(data)}


class _HyperscanSet(LiteralSet):
    def __init__(self, literals: Sequence[str]) -> None:
        super().__init__(literals)
        self._encoded = [literal.encode("utf-8") for literal in self.literals]
        self._lengths = [len(e) for e in self._encoded]
        self._db = None
        if self._encoded:
            self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            self._db.compile(
                expressions=self._encoded,
                ids=list(range(len(self._encoded))),
                elements=len(self._encoded),
                flags=0,
                literal=True,
            )
        self._local = threading.local()  # a scratch per thread: scans may run in several

    def _scratch(self):
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._db)
        return scratch

    def byte_ends(self, data: bytes) -> list[tuple[int, int]]:
        if self._db is None or not data:
            return []
        found: list[tuple[int, int]] = []
        append = found.append
        self._db.scan(data, match_event_handler=lambda i, _s, end, _f, _c: append((i, end)), scratch=self._scratch())
        return found

    def _long_ends(self, text: str, data: bytes | None) -> list[tuple[int, int]]:
        if data is None:
            data = text.encode("utf-8", "surrogatepass")
        return ends_in_sets([self], text, data)[0]

    def any_in(self, data: bytes) -> bool:
        if self._db is None or not data:
            return False
        hit = []

        def stop(*_):
            hit.append(True)
            return True  # a true return ends the scan

        try:
            self._db.scan(bytes(data), match_event_handler=stop, scratch=self._scratch())
        except hyperscan.ScanTerminated:
            pass
        return bool(hit)

    def found_in_each(self, datas: Sequence[bytes]) -> set[int]:
        if self._db is None or not datas:
            return set()
        joined, starts = _joined(datas)
        ends: list[int] = []
        self._db.scan(joined, match_event_handler=lambda _i, _s, end, _f, _c: ends.append(end), scratch=self._scratch())
        return {bisect_right(starts, end - 1) for end in ends}


_JOIN_BUFFER = threading.local()
_JOIN_BUFFER_KEPT = 8 * 1024 * 1024


def _joined(datas: Sequence[bytes]) -> tuple[memoryview, list[int]]:
    """``datas`` joined by NUL bytes, in a buffer kept per thread (a fresh join of megabytes costs
    four times as much: new pages each time), and where each of them after the first starts.

    One scan of them joined finds a literal inside one of them as it would in that one alone; one
    found across a join only makes a file pass the pre-check needlessly."""
    size = sum(map(len, datas)) + len(datas)
    buffer = getattr(_JOIN_BUFFER, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = bytearray(size)
        if size <= _JOIN_BUFFER_KEPT:  # a rare larger one is not kept
            _JOIN_BUFFER.buffer = buffer
    starts, position = [], 0
    for data in datas:
        if position:
            starts.append(position)
        end = position + len(data)
        buffer[position:end] = data
        buffer[end] = 0
        position = end + 1
    return memoryview(buffer)[: position - 1], starts


def ends_in_sets(sets: Sequence[LiteralSet], text: str, data: bytes | None = None) -> list[list[tuple[int, int]]]:
    """``ends`` of each set: with Hyperscan, byte offsets are turned into character offsets in one
    pass over ``data`` for all the sets (a pass decodes the text; once is enough)."""
    if not sets or not isinstance(sets[0], _HyperscanSet):  # one kind for all: ``literal_set``
        return [literals.ends(text, data) for literals in sets]
    if data is None:
        data = text.encode("utf-8", "surrogatepass")
    found = [literals.byte_ends(data) for literals in sets]
    if len(data) == len(text) or not any(found):  # ASCII: byte offsets are character offsets
        return found
    ends = sorted({end for hits in found for _, end in hits})
    chars = position = 0
    to_chars = {}
    for end in ends:  # literals end on character boundaries
        chars += len(data[position:end].decode("utf-8", "surrogatepass"))
        position = end
        to_chars[end] = chars
    return [sorted(((literal_id, to_chars[end]) for literal_id, end in hits), key=lambda hit: hit[1]) for hits in found]


class _AhoCorasickSet(LiteralSet):
    def __init__(self, literals: Sequence[str]) -> None:
        import ahocorasick

        super().__init__(literals)
        self._automaton = ahocorasick.Automaton()
        for i, literal in enumerate(self.literals):
            self._automaton.add_word(literal, i)
        if self.literals:
            self._automaton.make_automaton()

    def _long_ends(self, text: str, data: bytes | None) -> list[tuple[int, int]]:
        if not self.literals:
            return []
        return [(literal_id, end + 1) for end, literal_id in self._automaton.iter(text)]

    def any_in(self, data: bytes) -> bool:
        text = bytes(data).decode("utf-8", "replace")
        return any(True for _ in self.ends(text))


_WRAPPED_DB = None


def release_freed_memory() -> None:
    """Return memory freed by the compiler to the system (glibc's malloc_trim; elsewhere a no-op)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def wrapped_line_breaks(text: str, data: bytes | None = None) -> list[int] | None:
    """Where the line breaks are that end a base64 line of 64+ characters and precede more
    base64 (character offsets, sorted). None when Hyperscan is not installed: the caller falls
    back to ``re``, 20x slower on 10 MB."""
    global _WRAPPED_DB
    if hyperscan is None:
        return None
    if _WRAPPED_DB is None:
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(expressions=[rb"[A-Za-z0-9+/=_-]{64}\r?\n[A-Za-z0-9+/=_-]"], ids=[0], flags=0)
        _WRAPPED_DB = db, threading.local()
    db, local = _WRAPPED_DB
    scratch = getattr(local, "scratch", None)
    if scratch is None:
        scratch = local.scratch = hyperscan.Scratch(db)
    if data is None:
        data = text.encode("utf-8", "surrogatepass")
    ends: list[int] = []
    db.scan(data, match_event_handler=lambda _i, _s, end, _f, _c: ends.append(end), scratch=scratch)
    breaks = sorted({end - 3 if data[end - 3 : end - 1] == b"\r\n" else end - 2 for end in ends})
    if len(data) == len(text) or not breaks:
        return breaks
    chars, position, mapped = 0, 0, []
    for offset in breaks:  # a line break is ASCII: the bytes before it decode whole
        chars += len(data[position:offset].decode("utf-8", "surrogatepass"))
        position = offset
        mapped.append(chars)
    return mapped
