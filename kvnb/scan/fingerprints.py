"""Scan without the value: match candidate strings against keyed fingerprints.

Someone who may read the secret exports, per version, the vault URL, the value's length and the
keyed fingerprints (``kvnb.fingerprint``) of its raw and JSON-escaped forms, each with its length
and whether it contains whitespace. An auditor without read permission then hashes every string of
the right length in the files and compares. The export holds no value and no plain hash of one;
like any fingerprint it is a check, so keep it to your team. A value below the fingerprint entropy
threshold (``kvnb.fingerprint.MIN_FINGERPRINT_BITS``) is not exported at all: its fingerprints would
give it away to anyone who tries candidates.

Candidates are sliding windows over each line (over each run of non-space characters, for a form
without whitespace), so a value embedded in a longer token or a connection string is found as well
as a quoted one; notebooks are searched cell by cell after JSON decoding.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..fingerprint import (
    WITHHELD,
    fingerprint,
    fingerprint_key,  # the same key as fingerprint(); fast path below
    may_show,
)
from ..matching import MIN_WHOLE as MIN_VALUE_LENGTH
from .matching import Hit

FORMAT = "kvnb-fingerprints"
FORMAT_VERSION = 1
_NON_SPACE_RUN = re.compile(r"\S+")


@dataclass(frozen=True)
class FingerprintForm:
    form: str  # "raw" or "json"
    length: int  # in characters
    fingerprint: str  # 64 hex characters
    spaced: bool = True  # whether the form holds whitespace; False narrows the search to tokens


@dataclass(frozen=True)
class FingerprintEntry:
    label: str
    vault_url: str
    length: int
    forms: tuple[FingerprintForm, ...]


def _forms_of(value: str) -> list[tuple[str, str]]:
    candidates = [
        ("raw", value),
        ("json", json.dumps(value)[1:-1]),
        ("json", json.dumps(value, ensure_ascii=False)[1:-1]),
    ]
    seen: set[str] = set()
    forms = []
    for form, text in candidates:  # a URL-safe token is its own JSON form: keep it once, as raw
        if text not in seen:
            seen.add(text)
            forms.append((form, text))
    return forms


def export_fingerprints(values: Mapping[str, str], vault_url: str) -> dict:
    """The export document for ``values`` (label → value): fingerprints and lengths only."""
    entries = []
    for label, value in values.items():
        if not may_show(value):
            raise ValueError(f"{label}: {WITHHELD}; scan with --secret instead (it needs read access)")
        if len(value) < MIN_VALUE_LENGTH:
            raise ValueError(f"{label}: values shorter than {MIN_VALUE_LENGTH} characters cannot be searched")
        forms = [
            {
                "form": form,
                "length": len(text),
                "fingerprint": fingerprint(text, vault_url),
                "whitespace": any(char.isspace() for char in text),
            }
            for form, text in _forms_of(value)
        ]
        entries.append({"label": label, "vault_url": vault_url, "length": len(value), "forms": forms})
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "entries": entries}


def write_fingerprints(path: str | os.PathLike, values: Mapping[str, str], vault_url: str) -> None:
    """Write the export for ``values`` to ``path`` (JSON)."""
    document = export_fingerprints(values, vault_url)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2)
        file.write("\n")


def load_fingerprints(path: str | os.PathLike) -> list[FingerprintEntry]:
    """Read an export written by ``write_fingerprints``; ValueError if it is not one."""
    try:
        with open(path, encoding="utf-8") as file:
            document = json.load(file)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read fingerprints from {os.fspath(path)}: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{os.fspath(path)} is not a kvnb fingerprint export (kvnb scan --export-fingerprints)")
    if document.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{os.fspath(path)} has format version {document.get('format_version')!r}; "
            f"this kvnb reads version {FORMAT_VERSION}"
        )
    try:
        entries = [
            FingerprintEntry(
                label=str(entry["label"]),
                vault_url=str(entry["vault_url"]),
                length=int(entry["length"]),
                forms=tuple(
                    FingerprintForm(
                        str(form["form"]),
                        int(form["length"]),
                        _checked_hex(form["fingerprint"]),
                        bool(form.get("whitespace", True)),
                    )
                    for form in entry["forms"]
                ),
            )
            for entry in document["entries"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{os.fspath(path)} is damaged ({type(exc).__name__}: {exc}); export it again") from None
    if not entries:
        raise ValueError(f"{os.fspath(path)} holds no fingerprints")
    return entries


def _checked_hex(text: object) -> str:
    if not isinstance(text, str) or len(text) != 64:
        raise ValueError("a fingerprint is not 64 hex characters")
    bytes.fromhex(text)
    return text.lower()


class _Table:
    """Fingerprints of one length under one vault's key, and how to hash a window quickly."""

    def __init__(self, key: bytes, length: int, spaced: bool):
        self.length, self.spaced = length, spaced
        self.digests: dict[bytes, list[tuple[str, str]]] = {}
        # HMAC-SHA256 from precomputed pads: twice as fast per window as hmac.digest(), which
        # rebuilds both pads every call. The key is a SHA-256 digest, shorter than the block.
        block = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))

    def search(self, data: bytes | None, text: str, start: int, stop: int, offset: int, found: list[Hit]) -> None:
        length, digests, inner, outer = self.length, self.digests, self._inner, self._outer
        for index in range(start, stop - length + 1):
            # Slicing the encoded line is only right when characters and bytes coincide.
            window = (
                data[index : index + length]
                if data is not None
                else (text[index : index + length].encode("utf-8", "surrogateescape"))
            )
            first = inner.copy()
            first.update(window)
            second = outer.copy()
            second.update(first.digest())
            matches = digests.get(second.digest())
            if matches:
                found.extend(Hit(offset + index, offset + index + length, label, form) for label, form in matches)


class FingerprintMatcher:
    """Hashes every window of each fingerprinted length and looks the digest up.

    A form without whitespace is only looked for inside runs of non-space characters: in prose
    and code most runs are shorter than a secret, which skips most windows.
    """

    # Any file may hold a match, so ``may_match`` only rules out files with no line long enough.
    confirms_hits = False

    def __init__(self, entries: list[FingerprintEntry]):
        tables: dict[tuple[bytes, int, bool], _Table] = {}
        for entry in entries:
            key = fingerprint_key(entry.vault_url)
            for form in entry.forms:
                table = tables.get((key, form.length, form.spaced))
                if table is None:
                    table = tables[key, form.length, form.spaced] = _Table(key, form.length, form.spaced)
                table.digests.setdefault(bytes.fromhex(form.fingerprint), []).append((entry.label, form.form))
        if not tables:
            raise ValueError("nothing to search for: the fingerprint export is empty")
        self._tables = list(tables.values())
        self._min_length = min(table.length for table in self._tables)
        self._labels = sorted({entry.label for entry in entries})

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def may_match(self, data: bytes, *, notebook: bool = False) -> bool:
        return len(data) >= self._min_length

    def may_match_each(self, datas: list[bytes], notebooks: list[bool]) -> list[bool]:
        return [len(data) >= self._min_length for data in datas]

    def hits(self, text: str) -> list[Hit]:
        found: list[Hit] = []
        line_start = 0
        for line in text.split("\n"):
            if len(line) >= self._min_length:
                self._search_line(line, line_start, found)
            line_start += len(line) + 1
        found.sort(key=lambda hit: (hit.start, hit.label, hit.form))
        return found

    def _search_line(self, line: str, offset: int, found: list[Hit]) -> None:
        data = line.encode("ascii") if line.isascii() else None
        runs = None
        for table in self._tables:
            if table.length > len(line):
                continue
            if table.spaced:
                table.search(data, line, 0, len(line), offset, found)
                continue
            if runs is None:
                runs = [
                    match.span()
                    for match in _NON_SPACE_RUN.finditer(line)
                    if match.end() - match.start() >= self._min_length
                ]
            for start, stop in runs:
                if stop - start >= table.length:
                    table.search(data, line, start, stop, offset, found)
