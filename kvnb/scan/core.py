"""``scan_paths``: read each selected file once and report every copy of the searched values."""

from __future__ import annotations

import os
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from .binary import binary_units
from .files import EXAMPLES_KEPT, select_files
from .findings import MASK, Finding, ScanResult, findings_in
from .fingerprints import FingerprintEntry, FingerprintMatcher
from .matching import ValueMatcher
from .notebook import notebook_units

DEFAULT_MAX_FILE_SIZE = 20 * 1024 * 1024
# git's own test for "binary": a NUL byte in the first 8000 bytes.
_SEPARATOR = "\0"
_BINARY_SNIFF_BYTES = 8000
_FIRST_READ = 65536
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)
# Files pre-checked together: enough to make the per-call cost vanish, few enough bytes to hold.
_BATCH_FILES = 256
_BATCH_BYTES = 4 * 1024 * 1024

Progress = Callable[[int, int], None]  # (files done, files in total)


def scan_paths(
    paths: Iterable[str | os.PathLike],
    searched: Mapping[str, str] | Sequence[FingerprintEntry],
    *,
    respect_gitignore: bool = True,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    binary: bool = False,
    min_run: int | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Search files under ``paths`` for values (label → value, held in memory only) or for
    fingerprints (from ``load_fingerprints``).

    Values are found in every form the engine knows (``kvnb.matching``), whole and as runs of
    ``min_run`` (K, default ``KVNB_REDACT_MIN_RUN``) characters or more. Binary files are skipped
    and counted unless ``binary`` (then pickles are read by their strings, other files as bytes);
    so are files over ``max_file_size`` bytes, and files that ``.gitignore`` excludes unless
    ``respect_gitignore`` is false. FileNotFoundError if a path is missing.
    """
    matcher = _matcher_for(searched, min_run)
    started = time.perf_counter()
    selection = select_files(paths, respect_gitignore=respect_gitignore)
    counts = {"scanned": 0, "bytes": 0, "binary": 0, "too_large": 0, "unreadable": 0}
    examples: dict[str, list[str]] = {"ignored": list(selection.ignored_examples)}
    findings: list[Finding] = []
    total = len(selection.files)
    read: list[tuple[str, bytes, bool]] = []  # (path, data, is text) read but not searched yet
    read_bytes = 0
    for done, path in enumerate(selection.files, start=1):
        outcome, data = _read(path, max_file_size)
        if binary and outcome == "scanned" and not _is_utf8(data):
            outcome = "binary"  # text in another encoding (a protocol-0 pickle, Latin-1): read as bytes
        if outcome == "scanned" or (outcome == "binary" and binary):
            counts["scanned"] += 1
            counts["bytes"] += len(data)
            read.append((path, data, outcome == "scanned"))
            read_bytes += len(data)
        else:
            counts[outcome] += 1
            kept = examples.setdefault(outcome, [])
            if len(kept) < EXAMPLES_KEPT:
                kept.append(path)
        if len(read) >= _BATCH_FILES or read_bytes >= _BATCH_BYTES or done == total:
            findings.extend(_findings_in_batch(read, matcher))
            read, read_bytes = [], 0
        if progress is not None:
            progress(done, total)
    return ScanResult(
        findings=tuple(findings),
        labels=tuple(matcher.labels),
        files_scanned=counts["scanned"],
        bytes_scanned=counts["bytes"],
        files_ignored=selection.ignored_files,
        dirs_ignored=selection.ignored_dirs,
        files_binary=counts["binary"],
        files_too_large=counts["too_large"],
        files_unreadable=counts["unreadable"] + selection.unreadable_dirs,
        max_file_size=max_file_size,
        seconds=time.perf_counter() - started,
        skipped_examples={reason: paths for reason, paths in examples.items() if paths},
    )


def _findings_in_batch(read: list[tuple[str, bytes, bool]], matcher) -> list[Finding]:
    """The findings in files read, in order; the text files' bytes are pre-checked in one engine
    call (one call per file costs more than the check itself on a tree of small files)."""
    texts = [(path, data) for path, data, is_text in read if is_text]
    notebooks = [path.lower().endswith(".ipynb") for path, _ in texts]
    passed = iter(zip(notebooks, matcher.may_match_each([data for _, data in texts], notebooks)))
    findings: list[Finding] = []
    for path, data, is_text in read:
        if not is_text:
            findings.extend(_findings_in_binary(path, data, matcher))
            continue
        notebook, may = next(passed)
        if may:
            findings.extend(_findings_in_file(path, data, matcher, notebook))
    return findings


def _matcher_for(searched, min_run: int | None):
    if isinstance(searched, Mapping):
        return ValueMatcher(searched, min_run=min_run)  # ValueError when empty or too short
    items = list(searched)
    if items and all(isinstance(item, FingerprintEntry) for item in items):
        return FingerprintMatcher(items)
    raise TypeError("search for values ({label: value}) or for entries from load_fingerprints()")


def _read(path: str, max_file_size: int) -> tuple[str, bytes]:
    # os.open/os.read instead of open(): a third less time per file on trees of small files.
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError:
        return "unreadable", b""
    try:
        # Most files are small: one read answers them whole, with no fstat before it.
        first = os.read(descriptor, _FIRST_READ)
        if len(first) < _FIRST_READ:
            data = first
        else:
            size = os.fstat(descriptor).st_size
            if size > max_file_size:
                return "too_large", b""
            chunks = [first]
            wanted = max_file_size + 1 - len(first)
            while wanted > 0:  # one more read for a regular file; bounded by max_file_size in any case
                asked = min(wanted, max(size + 1 - len(first), 65536))
                chunk = os.read(descriptor, asked)
                chunks.append(chunk)
                wanted -= len(chunk)
                if len(chunk) < asked:  # a regular file answers short only at its end
                    break
            data = b"".join(chunks)
    except OSError:
        return "unreadable", b""
    finally:
        os.close(descriptor)
    if len(data) > max_file_size:  # it grew while we looked
        return "too_large", b""
    if b"\0" in data[:_BINARY_SNIFF_BYTES]:
        return "binary", data
    return "scanned", data


def _findings_in_file(path: str, data: bytes, matcher, notebook: bool) -> list[Finding]:
    # surrogateescape keeps stray non-UTF-8 bytes without failing; a BOM would shift columns.
    text = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    if notebook:
        units = notebook_units(text)
        if units is not None:
            found = []
            for unit, hits in zip(units, _hits_per_text(matcher, [unit.text for unit in units])):
                if hits:
                    found.extend(findings_in(unit.text, hits, path=path, unit=unit))
            # A certain hit that no cell explains (it spans two JSON strings, say) is still
            # reported, by its line and column in the file.
            if found or not matcher.confirms_hits:
                return found
    return findings_in(text, matcher.hits(text), path=path)


def _hits_per_text(matcher, texts: list[str]) -> list[list]:
    """``matcher.hits`` of each text, from one search of them all: a notebook has a hundred short
    strings, and one search costs less than a hundred. A NUL between them keeps copies apart."""
    joined = _SEPARATOR.join(texts)
    starts = [0]
    for text in texts[:-1]:
        starts.append(starts[-1] + len(text) + 1)
    per_text: list[list] = [[] for _ in texts]
    for hit in matcher.hits(joined):
        number = bisect_right(starts, hit.start) - 1
        start = starts[number]
        if hit.end <= start + len(texts[number]):  # one spanning a NUL is no copy in any one text
            per_text[number].append(replace(hit, start=hit.start - start, end=hit.end - start))
    return per_text


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _findings_in_binary(path: str, data: bytes, matcher) -> list[Finding]:
    found: list[Finding] = []
    by_offset: dict[tuple[str, int], Finding] = {}
    for unit in binary_units(data):
        hits = matcher.hits(unit.text)
        for hit, finding in zip(hits, findings_in(unit.text, hits, path=path, unit=unit)):
            if unit.part != "bytes":
                found.append(finding)
                continue
            # The UTF-8 and Latin-1 readings find a copy twice: one finding per byte offset, the
            # reading that shows more of the value (a Latin-1 copy is whole only in Latin-1).
            offset = (
                hit.start
                if unit.pointer == "latin-1"
                else len(unit.text[: hit.start].encode("utf-8", "surrogateescape"))
            )
            # No excerpt: the bytes around a copy are noise, and one reading's context can hold
            # what only the other reading shows as part of the value.
            finding = replace(finding, pointer=f"{unit.pointer}, byte {offset}", excerpt=MASK)
            kept = by_offset.get((hit.label, offset))
            if kept is None or (finding.whole, finding.run) > (kept.whole, kept.run):
                by_offset[hit.label, offset] = finding
    return found + sorted(by_offset.values(), key=lambda f: int(f.pointer.rsplit(" ", 1)[1]))
