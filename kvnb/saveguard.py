"""The save guard: a Jupyter server pre-save hook that keeps fetched values out of saved notebooks.

Install it with one line in ``jupyter_server_config.py`` (or ``kvnb notebook install-save-guard``)::

    c.ContentsManager.pre_save_hook = "kvnb.saveguard.pre_save_hook"

The server does not hold the kernels' values. Each kernel with ``%load_ext kvnb`` keeps
``$KVNB_HOME/guard/<pid>.json`` (``kvnb.redaction.guard``): keyed digests of every form of every
value it fetched. Before a notebook (or a text file) is written, every string in it is searched:
an 8-character window slides along, its keyed digest is looked up among the needles' heads, and
only on a hit is the full length compared. ``KVNB_SAVE_GUARD`` (the server's environment) decides
what happens on a match: ``scrub`` (default) replaces it with ``[secret redacted]``; ``refuse``
rejects the save with HTTP 400; ``off`` skips the check.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from kvnb.redaction.guard import FORMAT, FORMAT_VERSION, guard_dir, keyed_digest

__all__ = ["MASK", "GuardSet", "SaveRefused", "load_guards", "pre_save_hook", "scrub_text"]

MASK = "[secret redacted]"
MODES = ("scrub", "refuse", "off")
_log = logging.getLogger(__name__)

try:  # jupyter_server re-raises tornado HTTPErrors from a pre-save hook and rejects the save;
    from tornado.web import HTTPError as _HTTPError  # any other exception is logged and the file saved
except ImportError:  # pragma: no cover - kvnb without a Jupyter server installed
    _HTTPError = Exception


class SaveRefused(_HTTPError):
    """The notebook holds a fetched value and ``KVNB_SAVE_GUARD=refuse``: HTTP 400, nothing saved."""

    def __init__(self, path: str, values: int) -> None:
        message = (f"kvnb save guard: {path} holds {values} value(s) that a kernel fetched from Key Vault; "
                   "not saved. Remove them (or set KVNB_SAVE_GUARD=scrub on the server).")
        if _HTTPError is Exception:
            super().__init__(message)
        else:
            super().__init__(400, message.replace("%", "%%"))  # tornado %-formats log_message
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass
class _Guard:
    """One kernel's guard file: its key and, per head digest, the needles starting with that head."""

    key: bytes
    heads: dict[str, list[tuple[int, str, int]]]  # head digest -> [(length, digest, value ordinal)]
    head_lengths: frozenset[int]


@dataclass
class GuardSet:
    """Every live kernel's guard: finds needles in text without knowing any value."""

    guards: list[_Guard] = field(default_factory=list)
    shortest: int = 0

    def __bool__(self) -> bool:
        return bool(self.guards)

    def find(self, text: str, cache: dict) -> list[tuple[int, int, tuple[int, int]]]:
        """Non-overlapping ``(start, end, (guard, value))`` matches in ``text``, longest first at a start."""
        found = []
        i, end = 0, len(text)
        while i <= end - self.shortest:
            match = self._match_at(text, i, cache)
            if match is None:
                i += 1
                continue
            length, value = match
            found.append((i, i + length, value))
            i += length
        return found

    def _match_at(self, text: str, i: int, cache: dict):
        best = None
        for g, guard in enumerate(self.guards):
            for head_length in guard.head_lengths:
                window = text[i : i + head_length]
                if len(window) < head_length:
                    continue
                head = cache.get((g, window))
                if head is None:
                    head = cache[(g, window)] = keyed_digest(guard.key, window)
                for length, digest, value in guard.heads.get(head, ()):
                    if (best is None or length > best[0]) and i + length <= len(text) and \
                            keyed_digest(guard.key, text[i : i + length]) == digest:
                        best = (length, (g, value))
        return best


def load_guards(directory: str | os.PathLike | None = None) -> GuardSet:
    """The guard files of running kernels in ``directory`` (``$KVNB_HOME/guard``); dead pids are skipped."""
    folder = Path(directory) if directory is not None else guard_dir()
    try:
        names = sorted(p for p in folder.iterdir() if p.suffix == ".json" and p.stem.isdigit())
    except (FileNotFoundError, NotADirectoryError):
        return GuardSet()
    guards = []
    for path in names:
        if not _alive(int(path.stem)):
            continue
        guard = _read_guard(path)
        if guard is not None and guard.heads:
            guards.append(guard)
    shortest = min((min(g.head_lengths) for g in guards), default=0)
    return GuardSet(guards, shortest)


def _read_guard(path: Path) -> _Guard | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != FORMAT or document.get("format_version") != FORMAT_VERSION:
            raise ValueError("not a kvnb guard file of this version")
        heads: dict[str, list] = {}
        for needle in document["needles"]:
            heads.setdefault(needle["head"], []).append(
                (int(needle["length"]), str(needle["digest"]), int(needle["value"])))
        lengths = frozenset(int(n["head_length"]) for n in document["needles"])
        return _Guard(bytes.fromhex(document["key"]), heads, lengths)
    except FileNotFoundError:  # the kernel stopped meanwhile
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        _log.warning("kvnb save guard: ignoring %s (%s)", path, type(exc).__name__)
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def scrub_text(text: str, guards: GuardSet, cache: dict | None = None) -> tuple[str, set]:
    """``text`` with every needle replaced by ``MASK``, and the ``(guard, value)`` pairs found."""
    if not guards or len(text) < guards.shortest:
        return text, set()
    found = guards.find(text, {} if cache is None else cache)
    if not found:
        return text, set()
    parts, pos = [], 0
    for start, end, _ in found:
        parts += (text[pos:start], MASK)
        pos = end
    parts.append(text[pos:])
    return "".join(parts), {value for _, _, value in found}


def _scrub_json(obj, guards: GuardSet, cache: dict, values: set):
    """Scrub every string (and key) of notebook JSON; returns the new object (in-place for containers)."""
    if isinstance(obj, str):
        clean, hit = scrub_text(obj, guards, cache)
        values |= hit
        return clean
    if isinstance(obj, dict):
        for key in list(obj):
            clean_key = _scrub_json(key, guards, cache, values)
            item = _scrub_json(obj[key], guards, cache, values)
            if clean_key != key:
                del obj[key]
            obj[clean_key] = item
        return obj
    if isinstance(obj, list):
        if _is_multiline(obj):  # nbformat's list-of-lines string: a value may span lines
            joined = "".join(obj)
            clean, hit = scrub_text(joined, guards, cache)
            if hit:
                values |= hit
                return clean  # nbformat accepts a string wherever it accepts a list of lines
        for index, item in enumerate(obj):
            obj[index] = _scrub_json(item, guards, cache, values)
        return obj
    return obj


def _is_multiline(items: list) -> bool:
    return len(items) > 1 and all(isinstance(s, str) for s in items) and all(s.endswith("\n") for s in items[:-1])


def pre_save_hook(model: dict, path: str, contents_manager=None, **kwargs) -> None:
    """``ContentsManager.pre_save_hook``: scrub (or refuse to save) fetched values in ``model``."""
    mode = os.environ.get("KVNB_SAVE_GUARD", "scrub").strip().lower() or "scrub"
    log = getattr(contents_manager, "log", None) or _log
    if mode == "off" or model.get("content") is None:
        return
    if mode not in MODES:
        log.warning("kvnb save guard: KVNB_SAVE_GUARD=%r is not one of %s; refusing saves that hold a value",
                    mode, "|".join(MODES))
        mode = "refuse"
    kind = model.get("type")
    if kind not in ("notebook", "file") or (kind == "file" and model.get("format") != "text"):
        return  # base64 files and directories are not checked (documented)
    try:
        values = _guard(model, kind, mode)
    except SaveRefused:
        raise
    except Exception as exc:  # jupyter_server would log any other error and save anyway: fail closed
        log.error("kvnb save guard: check of %s failed (%s); not saved", path, type(exc).__name__, exc_info=True)
        raise _failure(path) from None
    if not values:
        return
    if mode == "refuse":
        log.warning("kvnb save guard: refused to save %s: it holds %d fetched value(s)", path, len(values))
        raise SaveRefused(path, len(values))
    log.warning("kvnb save guard: scrubbed %d fetched value(s) from %s", len(values), path)


def _guard(model: dict, kind: str, mode: str) -> set:
    """The ``(guard, value)`` pairs found in ``model``; in scrub mode the model is scrubbed too."""
    guards = load_guards()
    if not guards:
        return set()
    values: set = set()
    cache: dict = {}
    if kind == "notebook":
        # Refusing must leave the model as sent: search a copy.
        content = model["content"] if mode == "scrub" else json.loads(json.dumps(model["content"]))
        _scrub_json(content, guards, cache, values)
    else:
        clean, values = scrub_text(model["content"], guards, cache)
        if mode == "scrub":
            model["content"] = clean
    return values


def _failure(path: str) -> Exception:
    message = (f"kvnb save guard: could not check {path} for fetched values; not saved. "
               "See the server log (KVNB_SAVE_GUARD=off on the server saves without the check).")
    if _HTTPError is Exception:
        return RuntimeError(message)
    return _HTTPError(500, message.replace("%", "%%"))
