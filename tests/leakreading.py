"""Reading a text back the ways a person or a script could, to find any piece of a value in it.

Written independently of kvnb.matching: it decodes the text instead of encoding the value. Each
reading — raw, colour codes and tags stripped, HTML- and URL-unescaped, backslash/JSON-unescaped
(twice, for JSON in JSON), with U+FFFD dropped (then against the value less one non-ASCII
character) — is searched for every run of K characters of the
value (runs made only of documented boilerplate excepted, ``kvnb.matching.public_mask``) and for
the whole value; every base64 (both alphabets, every alignment, line breaks removed) and hex run
is decoded and searched as bytes.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from urllib.parse import unquote, unquote_plus

from kvnb.matching import public_mask

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_TAG = re.compile(r"<[^<>]*>")
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|[nrt'\"\\/bf])")
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "'": "'", '"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f"}
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}")
_HEX_RUN = re.compile(r"[0-9A-Fa-f]{12,}")
MIN_WHOLE = 6


def unbackslash(text: str) -> str:
    def one(m: re.Match) -> str:
        code = m.group(1)
        if code[0] in "uUx":
            return chr(int(code[1:], 16))
        return _SIMPLE[code]

    decoded = _ESCAPE.sub(one, text)
    # \ud83d\ude00: a surrogate pair written as two escapes
    return decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def readings(text: str) -> dict[str, str]:
    bare = _ANSI.sub("", text)
    untagged = _TAG.sub("", bare)
    once = unbackslash(text)
    found = {
        "raw": text,
        "bare": bare,
        "untagged": untagged,
        "html": html.unescape(untagged),
        "html-of-tagged": html.unescape(text),
        "url": unquote(text),
        "url+": unquote_plus(text),
        "backslash": once,
        "backslash2": unbackslash(once),
        "html-of-backslash": html.unescape(_TAG.sub("", once)),
        "url-of-backslash": unquote(once),
    }
    for name, reading in list(found.items()):
        if "\ufffd" in reading:
            found[name + "-fffd"] = reading.replace("\ufffd", "")
    return found


def decoded_runs(text: str) -> list[bytes]:
    """Every base64 and hex run of ``text`` decoded (also across line breaks, as MIME wraps)."""
    out = []
    for source in (text, unbackslash(text)):
        joined = re.sub(r"(?<=[A-Za-z0-9+/=_-])(?:\r?\n|\\r?\\n)(?=[A-Za-z0-9+/_-])", "", source)
        for run in _BASE64_RUN.findall(joined):
            run = run.translate(str.maketrans("-_", "+/"))
            for shift in range(4):
                chunk = run[shift:]
                chunk = chunk[: len(chunk) - len(chunk) % 4] if len(chunk) % 4 == 1 else chunk
                chunk += "=" * (-len(chunk) % 4)
                try:
                    out.append(base64.b64decode(chunk))
                except (binascii.Error, ValueError):
                    pass
        for run in _HEX_RUN.findall(source):
            for shift in range(2):
                chunk = run[shift:]
                out.append(binascii.unhexlify(chunk[: len(chunk) - len(chunk) % 2]))
    return out


def _windows(value: str, k: int) -> list[str]:
    """The runs of ``k`` characters of ``value`` that are not boilerplate only."""
    public = public_mask(value) or bytes(len(value))
    return [value[i : i + k] for i in range(len(value) - k + 1) if 0 in public[i : i + k]]


def leaks(text: str, value: str, k: int) -> set[str]:
    """The readings of ``text`` that show ``value`` whole or a run of ``k`` characters of it."""
    windows = _windows(value, k)
    # A character split by a pipe read shows as U+FFFD; with those dropped, the value reads as
    # itself less that one character.
    cut = [value[:i] + value[i + 1 :] for i, c in enumerate(value) if not c.isascii()]
    cut_windows = [w for variant in cut for w in _windows(variant, k)]
    found = set()
    for name, reading in readings(text).items():
        fffd = name.endswith("-fffd")
        wholes = cut if fffd else [value]
        if len(value) >= MIN_WHOLE and any(v in reading for v in wholes):
            found.add(name + ":whole")
        if any(w in reading for w in (cut_windows if fffd else windows)):
            found.add(name + ":run")
    data_windows = [w.encode("utf-8") for w in windows]
    data = value.encode("utf-8")
    for decoded in decoded_runs(text):
        if len(value) >= MIN_WHOLE and data in decoded:
            found.add("decoded:whole")
        if any(w in decoded for w in data_windows):
            found.add("decoded:run")
        elif b"\\" in decoded or b"%" in decoded or b"&" in decoded:  # JSON or a URL, encoded
            readable = decoded.decode("utf-8", "replace")
            for reading in (unbackslash(readable), unquote(readable), html.unescape(readable)):
                if any(w in reading for w in windows):
                    found.add("decoded-escaped:run")
    return found


def strings_in(data) -> list[str]:
    """Every string (keys too) in JSON data, decoded: the text a reader of the file would see."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in strings_in(k) + strings_in(v)]
    if isinstance(data, list):
        return [s for item in data for s in strings_in(item)]
    return []
