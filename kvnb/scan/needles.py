"""Every encoded form of a known value, as search needles.

A leaked value rarely sits in a file exactly as typed: a notebook stores cell source as JSON strings,
a URL percent-encodes it, an HTTP Basic header or a data URI base64-encodes it (usually together with
other bytes), a debug dump shows it in hex. ``needles_for`` turns one value into the strings that each
of those encodings leaves in a file.

Base64 of a value *inside a larger blob* depends on where the value starts in its 3-byte group, so
there are three needles per alphabet: the characters that encode the value's bits alone, for each
alignment. Those characters leave a few of the value's edge bits uncovered, so a base64 hit is
confirmed by decoding the surrounding group-aligned characters and comparing bytes — a string that
differs from the value only in its last character is not reported.
"""

from __future__ import annotations

import base64
import json
import re
import string
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

FORMS = ("raw", "json", "url", "base64", "hex")
# Below this the raw form alone matches ordinary words and identifiers; such a value cannot be
# searched without a flood of false positives.
MIN_VALUE_LENGTH = 8

_BASE64_CHARS = frozenset(string.ascii_letters + string.digits + "+/-_")
_TO_STANDARD_ALPHABET = str.maketrans("-_", "+/")


def _lead_chars(offset: int) -> int:
    """Characters of a group that also carry bits of the ``offset`` bytes before the value."""
    return -(-8 * offset // 6)


@dataclass(frozen=True, repr=False)
class _Base64Embedding:
    value: bytes
    offset: int  # bytes of the surrounding blob before the value, within its 3-byte group

    def confirm(self, text: str, start: int) -> tuple[int, int] | None:
        """The span of whole base64 groups that decode to the value, or None."""
        group_start = start - _lead_chars(self.offset)
        if group_start < 0:
            return None
        total = self.offset + len(self.value)
        needed = -(-8 * total // 6)
        limit = min(group_start + 4 * -(-total // 3), len(text))
        stop = group_start
        while stop < limit and text[stop] in _BASE64_CHARS:
            stop += 1
        if stop - group_start < needed:
            return None
        chunk = text[group_start:stop].translate(_TO_STANDARD_ALPHABET)
        # Zero bits after the value's last bit make the chunk decodable; they are never compared.
        decoded = base64.b64decode(chunk + "A" * (-len(chunk) % 4))
        if decoded[self.offset : self.offset + len(self.value)] != self.value:
            return None
        return group_start, stop


@dataclass(frozen=True, eq=False)
class Needle:
    """One encoded form of a value. ``repr`` never shows the text."""

    text: str
    label: str
    form: str
    _embedding: _Base64Embedding | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return f"Needle(label={self.label!r}, form={self.form!r})"

    def confirm(self, text: str, start: int) -> tuple[int, int] | None:
        """The span to report (and mask) for a match of this needle at ``start``, or None."""
        if self._embedding is not None:
            return self._embedding.confirm(text, start)
        return start, start + len(self.text)


def needles_for(value: str, label: str) -> list[Needle]:
    """Needles for every form of ``value``: raw, JSON-escaped, URL-encoded, base64/base64url, hex.

    ``label`` names the value in findings (for example ``"APICaller/3f2a…"``, secret and version).
    Raises ValueError for values shorter than ``MIN_VALUE_LENGTH`` characters.
    """
    if len(value) < MIN_VALUE_LENGTH:
        raise ValueError(
            f"{label}: values shorter than {MIN_VALUE_LENGTH} characters cannot be searched "
            "without false positives"
        )
    found: dict[str, Needle] = {}

    def add(text: str, form: str, embedding: _Base64Embedding | None = None) -> None:
        # The first form listed wins when two encodings give the same text (a URL-safe token is
        # its own JSON and URL form): a finding then says "raw", the simplest explanation.
        if text and text not in found:
            found[text] = Needle(text, label, form, embedding)

    raw_forms = [value]
    if "\n" in value:  # a PEM key or other multi-line value saved with Windows line ends
        raw_forms.append(value.replace("\r\n", "\n").replace("\n", "\r\n"))
    for text in raw_forms:
        add(text, "raw")
    for text in _json_forms(value):
        add(text, "json")
    for text in _url_forms(value):
        add(text, "url")
    data = value.encode("utf-8")
    add(data.hex(), "hex")
    add(data.hex().upper(), "hex")
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + data).decode("ascii")
            core = encoded[_lead_chars(offset) : 8 * (offset + len(data)) // 6]
            add(core, "base64", _Base64Embedding(data, offset))
    return list(found.values())


def _json_forms(value: str) -> list[str]:
    once = [json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]]
    # JSON inside a JSON string (a config blob in a notebook cell), and writers that escape "/".
    twice = [json.dumps(text)[1:-1] for text in once]
    slashed = [text.replace("/", "\\/") for text in once]
    return once + twice + slashed


def _url_forms(value: str) -> list[str]:
    forms = [quote(value, safe=""), quote(value, safe="/"), quote_plus(value), quote_plus(value, safe="/")]
    # RFC 3986 prefers upper-case escapes, but some encoders write %2f.
    return forms + [re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), text) for text in forms]
