"""Confirming a whole base64 match: the characters at its edges carry the value's bits too.

The engine's base64 forms are the characters of ``b64encode(prefix + value)`` that carry the
value's bits *alone*, one form per alignment; the characters at either edge mix in bits of the
neighbouring bytes and are trimmed off. So a string that differs from the value only in its last
few bits still matches the form whole. ``base64_confirmed`` settles it the way a decoder would:
it decodes the group-aligned characters around the match and compares the value's bytes. A scan
reports a match that fails this as a partial copy (it is one: all but a few bits), not a whole one.
"""

from __future__ import annotations

import base64
import binascii
import string

_BASE64_CHARS = frozenset(string.ascii_letters + string.digits + "+/-_")
_TO_STANDARD_ALPHABET = str.maketrans("-_", "+/")


def base64_confirmed(text: str, start: int, end: int, encoded: list[bytes]) -> bool:
    """Whether ``text[start:end]`` with its edge characters decodes to one of ``encoded`` (the
    byte strings that were base64-encoded: the value's UTF-8 and its JSON-escaped forms)."""
    for data in encoded:
        for offset in range(3):  # bytes of the blob before the value, within its 3-byte group
            group_start = start - -(-8 * offset // 6)
            needed = -(-8 * (offset + len(data)) // 6)
            if group_start < 0 or group_start + needed > len(text):
                continue
            chunk = text[group_start : group_start + needed]
            if not _BASE64_CHARS.issuperset(chunk) or not group_start + needed >= end:
                continue
            chunk = chunk.translate(_TO_STANDARD_ALPHABET)
            try:  # zero bits after the value's last bit make the chunk decodable; never compared
                decoded = base64.b64decode(chunk + "A" * (-len(chunk) % 4))
            except (binascii.Error, ValueError):
                continue
            if decoded[offset : offset + len(data)] == data:
                return True
    return False
