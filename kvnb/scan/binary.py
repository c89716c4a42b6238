"""Read a binary file as text for a scan (``kvnb scan --binary``): pickles by their strings, any
other file as its bytes in UTF-8 and in Latin-1.

A pickle (``%store`` keeps variables as pickles in the IPython profile) is read with
``pickletools.genops``, which walks the opcodes without unpickling: nothing in the file runs. Its
string and bytes arguments are searched one by one, so a protocol-0 pickle's escaped text is found
as decoded. Any other binary file is searched as its bytes read two ways: UTF-8 (a value kept as
UTF-8, where most tools put it) and Latin-1 (byte for byte, so an 8-bit codepage copy shows too).
"""

from __future__ import annotations

import io
import pickletools

from .notebook import TextUnit

# Pickle opcodes whose argument is text or bytes (names from pickletools, every protocol).
_STRING_OPS = {
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "UNICODE",
    "BINUNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE8",
    "BINBYTES",
    "SHORT_BINBYTES",
    "BINBYTES8",
    "BYTEARRAY8",
}
_MAX_OPS = 5_000_000  # a bound on the walk; real pickles of notebooks' variables are far smaller


def binary_units(data: bytes) -> list[TextUnit]:
    """The texts of a binary file to search, each named by where it sits."""
    strings = pickle_strings(data)
    if strings is not None:
        return [TextUnit(None, "pickle", f"string at byte {position}", text) for position, text in strings]
    units = [TextUnit(None, "bytes", "utf-8", data.decode("utf-8", "surrogateescape"))]
    if not data.isascii():
        units.append(TextUnit(None, "bytes", "latin-1", data.decode("latin-1")))
    return units


def pickle_strings(data: bytes) -> list[tuple[int, str]] | None:
    """``(byte position, text)`` of every string in the pickle ``data``; None if it is no pickle."""
    if not data.startswith(b"\x80") and data[:1] not in (b"(", b"]", b"}", b"S", b"V", b"c", b"I", b"X"):
        return None
    strings: list[tuple[int, str]] = []
    try:
        for count, (opcode, argument, position) in enumerate(pickletools.genops(io.BytesIO(data))):
            if count >= _MAX_OPS:
                break
            if opcode.name in _STRING_OPS:
                if isinstance(argument, (bytes, bytearray)):
                    argument = bytes(argument).decode("utf-8", "surrogateescape")
                strings.append((position or 0, argument))
            if opcode.name == "STOP":
                break
    except Exception:
        return None
    return strings
