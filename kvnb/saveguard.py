"""The save guard: a Jupyter server pre-save hook that keeps fetched values out of saved notebooks.

Install it with one line in ``jupyter_server_config.py`` (or ``kvnb notebook install-save-guard``)::

    c.ContentsManager.pre_save_hook = "kvnb.saveguard.pre_save_hook"

The server does not hold the kernels' values. Each kernel with ``%load_ext kvnb`` keeps a key file
and a sealed digests file in ``$KVNB_HOME/guard`` (``kvnb.redaction.guard``, where the design and
its brute-force trade-off are written down): digests of every K-character window of every form of
every value it fetched, and of whole forms shorter than K. Before a notebook (or a text file) is
written, the guard reads it as nbformat does — a code cell's ``source`` list joined into one text,
outputs, attachments and metadata alike — hashes every window of every string with each live
kernel's key and looks the digests up. Any run of K or more characters of a value (or a whole short
value) is replaced by ``[secret redacted]``; overlapping windows merge, so a whole value gives one
mask. ``KVNB_SAVE_GUARD`` (the server's environment) decides what happens on a match: ``scrub``
(default), ``refuse`` (HTTP 400, nothing saved) or ``off``.

Guard files of processes that no longer run are deleted when the server starts (importing this
module, which the server does to resolve the hook) and before every check.
"""

from __future__ import annotations

import logging
import os
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidTag

from kvnb.matching.views import views
from kvnb.redaction.guard import MAGIC, GuardKey, code_points, guard_dir, unpack_tables

__all__ = ["MASK", "GuardSet", "SaveRefused", "load_guards", "pre_save_hook", "scrub_text", "sweep_stale"]

MASK = "[secret redacted]"
MODES = ("scrub", "refuse", "off")
_SEPARATOR = "\0"  # between the strings searched together; a window across one is not a match
_BITMAP_BITS = 22  # a 4 MB prefilter on the digests' top bits before the exact look-up
_log = logging.getLogger(__name__)

try:  # jupyter_server re-raises tornado HTTPErrors from a pre-save hook and rejects the save;
    from tornado.web import (
        HTTPError as _HTTPError,  # any other exception is logged and the file saved
    )
except ImportError:  # pragma: no cover - kvnb without a Jupyter server installed
    _HTTPError = Exception


class SaveRefused(_HTTPError):
    """The notebook holds a fetched value and ``KVNB_SAVE_GUARD=refuse``: HTTP 400, nothing saved."""

    def __init__(self, path: str, values: int) -> None:
        message = (
            f"kvnb save guard: {path} holds {values} value(s) that a kernel fetched from Key Vault; "
            "not saved. Remove them (or set KVNB_SAVE_GUARD=scrub on the server)."
        )
        if _HTTPError is Exception:
            super().__init__(message)
        else:
            super().__init__(400, message.replace("%", "%%"))  # tornado %-formats log_message
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass
class _Table:
    """Digests of one window length: sorted, with the value each came from, and a prefilter."""

    digests: np.ndarray
    values: np.ndarray
    bitmap: np.ndarray

    @classmethod
    def of(cls, parts: list[tuple[np.ndarray, int]]) -> _Table:
        digests = np.concatenate([d for d, _ in parts])
        values = np.concatenate([np.full(len(d), v, dtype=np.int64) for d, v in parts])
        order = np.argsort(digests, kind="stable")
        bitmap = np.zeros(1 << _BITMAP_BITS, dtype=bool)
        bitmap[digests >> np.uint64(64 - _BITMAP_BITS)] = True
        return cls(digests[order], values[order], bitmap)

    def hits(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of ``windows`` that are digests here, and their values."""
        maybe = np.flatnonzero(self.bitmap[windows >> np.uint64(64 - _BITMAP_BITS)])
        if not len(maybe):
            return maybe, maybe
        found = windows[maybe]
        index = np.minimum(np.searchsorted(self.digests, found), len(self.digests) - 1)
        exact = self.digests[index] == found
        return maybe[exact], self.values[index[exact]]


@dataclass
class _Guard:
    key: GuardKey
    tables: dict[int, _Table]  # window length -> table


@dataclass
class GuardSet:
    """Every live kernel's guard: finds values' pieces in text without knowing any value."""

    guards: list[_Guard] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.guards)

    @property
    def shortest(self) -> int:
        return min((length for g in self.guards for length in g.tables), default=0)

    def find(self, texts: list[str]) -> list[list[tuple[int, int, set]]]:
        """Per text, its merged ``(start, end, values)`` spans of registered windows.

        Each text is also read as the engine reads it (``kvnb.matching.views``): without markup
        inside a value, with MIME and PEM line breaks in base64 joined.
        """
        readings = [(number, view) for number, text in enumerate(texts) for view in views(text)]
        found = self._find([*texts, *(view.text for _, view in readings)])
        spans = found[: len(texts)]
        for (number, view), in_view in zip(readings, found[len(texts) :]):
            spans[number] += [(*view.to_text(start, end), value) for start, end, value in in_view]
        return [_merged(found) for found in spans]

    def _find(self, texts: list[str]) -> list[list[tuple[int, int, object]]]:
        joined = _SEPARATOR.join(texts)
        codes = code_points(joined)
        starts = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]])
        separators = np.flatnonzero(codes == ord(_SEPARATOR))
        spans: list[list[tuple[int, int, object]]] = [[] for _ in texts]
        for number, guard in enumerate(self.guards):
            for length, table in guard.tables.items():
                if length > len(codes):
                    continue
                positions, values = table.hits(guard.key.windows(codes, length))
                # A window is whole when the first separator at or after its start lies beyond it.
                after = np.searchsorted(separators, positions)
                beyond = np.append(separators, len(codes))[after]
                whole = beyond >= positions + length
                for position, value in zip(positions[whole].tolist(), values[whole].tolist()):
                    unit = int(np.searchsorted(starts, position, side="right")) - 1
                    offset = position - int(starts[unit])
                    spans[unit].append((offset, offset + length, (number, value)))
        return spans


def _merged(spans: list[tuple[int, int, object]]) -> list[tuple[int, int, set]]:
    merged: list[tuple[int, int, set]] = []
    for start, end, value in sorted(spans, key=lambda s: (s[0], s[1])):
        if merged and start <= merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), last[2] | {value})
        else:
            merged.append((start, end, {value}))
    return merged


def load_guards(directory: str | os.PathLike | None = None) -> GuardSet:
    """The guards of running kernels in ``directory`` (``$KVNB_HOME/guard``); dead ones are deleted."""
    folder = Path(directory) if directory is not None else guard_dir()
    sweep_stale(folder)
    try:
        keys = sorted(p for p in folder.iterdir() if p.suffix == ".key" and p.stem.isdigit())
    except (FileNotFoundError, NotADirectoryError):
        return GuardSet()
    guards = []
    for key_path in keys:
        guard = _read_guard(key_path)
        if guard is not None and guard.tables:
            guards.append(guard)
    return GuardSet(guards)


def _read_guard(key_path: Path) -> _Guard | None:
    digests_path = key_path.with_suffix(".digests")
    try:
        key = GuardKey(key_path.read_bytes())
        data = digests_path.read_bytes()
        if not data.startswith(MAGIC):
            raise ValueError("not a kvnb guard file of this version")
        parts: dict[int, list] = {}
        payloads = key.open_records(data[len(MAGIC) :], MAGIC + key_path.stem.encode())
        for value, payload in enumerate(payloads):
            for length, digests in unpack_tables(payload).items():
                parts.setdefault(length, []).append((digests, value))
        return _Guard(key, {length: _Table.of(p) for length, p in parts.items()})
    except FileNotFoundError:  # the kernel stopped meanwhile
        return None
    except (OSError, ValueError, struct.error, InvalidTag) as exc:
        # Damaged, foreign or of another version: said in the log; the other guards still apply.
        _log.warning("kvnb save guard: ignoring %s (%s)", digests_path, type(exc).__name__)
        return None


def sweep_stale(directory: str | os.PathLike | None = None) -> int:
    """Delete the guard files of processes that ended (killed kernels leave theirs); how many."""
    folder = Path(directory) if directory is not None else guard_dir()
    removed = 0
    try:
        entries = list(folder.iterdir())
    except OSError:
        return 0
    for path in entries:
        pid = path.name.lstrip(".").split(".")[0]
        if not pid.isdigit() or not path.name.endswith((".key", ".digests", ".json", ".tmp")):
            continue
        try:
            if not _alive(int(pid), path.stat().st_mtime):
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def _alive(pid: int, since: float) -> bool:
    """Whether process ``pid`` runs and is the one that wrote a file at ``since`` (not a reused pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    started = _start_time(pid)
    return started is None or started <= since + 1


def _start_time(pid: int) -> float | None:
    """When ``pid`` started (Linux ``/proc``), or None where that cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(
            float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
        )
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def scrub_text(text: str, guards: GuardSet) -> tuple[str, set]:
    """``text`` with every registered piece replaced by ``MASK``, and the values found."""
    if not guards or len(text) < guards.shortest:
        return text, set()
    spans = guards.find([text])[0]
    return _masked(text, spans), {v for _, _, values in spans for v in values}


def _masked(text: str, spans) -> str:
    parts, pos = [], 0
    for start, end, _ in spans:
        parts += (text[pos:start], MASK)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


# -- reading a notebook as nbformat does -----------------------------------------------------------
@dataclass
class _Slot:
    """One searched text of the notebook JSON and how to put its scrubbed version back."""

    container: dict | list
    key: object
    text: str
    kind: str  # "value", "lines" (nbformat's list-of-lines string), "items" (any other list), "key"
    items: list[str] | None = None

    def apply(self, spans) -> None:
        if self.kind == "key":
            clean = _masked(self.text, spans)
            self.container[clean] = self.container.pop(self.key)
        elif self.kind == "items":
            self.container[self.key] = _masked_items(self.items, spans)
        else:  # nbformat reads a list of lines and a string alike
            self.container[self.key] = _masked(self.text, spans)


def _masked_items(items: list[str], spans) -> list[str]:
    """Each item keeps its place; a value spread over items is masked where it starts and its
    continuation is cut from the items after; an item left empty goes (tags must be unique and
    non-empty in nbformat's schema)."""
    clean, start = [], 0
    for item in items:
        end = start + len(item)
        parts, pos = [], 0
        for s, e, _ in spans:
            if s < end and e > start:
                parts += (item[pos : max(s - start, 0)], MASK if s >= start else "")
                pos = min(e, end) - start
        kept = "".join(parts) + item[pos:]
        if kept or not item:
            clean.append(kept)
        start = end
    return clean


def _slots(obj, slots: list[_Slot]) -> None:
    stack = [obj]
    while stack:
        container = stack.pop()
        pairs = list(container.items()) if isinstance(container, dict) else list(enumerate(container))
        for key, item in pairs:
            if isinstance(container, dict):
                slots.append(_Slot(container, key, key, "key"))
            if isinstance(item, str):
                slots.append(_Slot(container, key, item, "value"))
            elif isinstance(item, list) and item and all(isinstance(s, str) for s in item):
                # nbformat joins `source`, stream `text` and mime-bundle values without separators.
                lines = isinstance(key, str) and (key in ("source", "text") or "/" in key)
                slots.append(_Slot(container, key, "".join(item), "lines" if lines else "items", item))
            elif isinstance(item, (dict, list)):
                stack.append(item)


def _check_notebook(content: dict, guards: GuardSet, scrub: bool) -> set:
    slots: list[_Slot] = []
    _slots(content, slots)
    found = guards.find([slot.text for slot in slots])
    values: set = set()
    hits = [(slot, spans) for slot, spans in zip(slots, found) if spans]
    for _, spans in hits:
        values |= {v for _, _, vs in spans for v in vs}
    if scrub:  # keys last: a value's slot still names its container by the old key
        for slot, spans in sorted(hits, key=lambda hit: hit[0].kind == "key"):
            slot.apply(spans)
    return values


def pre_save_hook(model: dict, path: str, contents_manager=None, **kwargs) -> None:
    """``ContentsManager.pre_save_hook``: scrub (or refuse to save) fetched values in ``model``."""
    mode = os.environ.get("KVNB_SAVE_GUARD", "scrub").strip().lower() or "scrub"
    log = getattr(contents_manager, "log", None) or _log
    if mode == "off" or model.get("content") is None:
        return
    if mode not in MODES:
        log.warning(
            "kvnb save guard: KVNB_SAVE_GUARD=%r is not one of %s; refusing saves that hold a value",
            mode,
            "|".join(MODES),
        )
        mode = "refuse"
    kind = model.get("type")
    if kind not in ("notebook", "file") or (kind == "file" and model.get("format") != "text"):
        return  # base64 files and directories are not checked (documented)
    started = time.perf_counter()
    try:
        values = _guard(model, kind, mode)
    except SaveRefused:
        raise
    except Exception as exc:  # jupyter_server would log any other error and save anyway: fail closed
        log.error("kvnb save guard: check of %s failed (%s); not saved", path, type(exc).__name__, exc_info=True)
        raise _failure(path) from None
    log.debug("kvnb save guard: checked %s in %.3f s", path, time.perf_counter() - started)
    if not values:
        return
    if mode == "refuse":
        log.warning("kvnb save guard: refused to save %s: it holds %d fetched value(s)", path, len(values))
        raise SaveRefused(path, len(values))
    log.warning("kvnb save guard: scrubbed %d fetched value(s) from %s", len(values), path)


def _guard(model: dict, kind: str, mode: str) -> set:
    """The values found in ``model``; in scrub mode the model is scrubbed too."""
    guards = load_guards()
    if not guards:
        return set()
    if kind == "notebook":
        return _check_notebook(model["content"], guards, scrub=mode == "scrub")
    clean, values = scrub_text(model["content"], guards)
    if mode == "scrub":
        model["content"] = clean
    return values


def _failure(path: str) -> Exception:
    message = (
        f"kvnb save guard: could not check {path} for fetched values; not saved. "
        "See the server log (KVNB_SAVE_GUARD=off on the server saves without the check)."
    )
    if _HTTPError is Exception:
        return RuntimeError(message)
    return _HTTPError(500, message.replace("%", "%%"))


# The server imports this module when it starts, to resolve the hook: a kernel killed since the
# last run left guard files behind, which go now rather than at the first save.
sweep_stale()
