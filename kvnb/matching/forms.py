"""Every form in which real code shows a value: escaped, quoted, percent-encoded, base64, hex.

Forms are composed as libraries compose them: HTML escapes a ``repr`` (a DataFrame of dicts), JSON
goes inside JSON (a config blob in a request body), base64 encodes a JSON body (a JWT claim).
Each form is built character by character (or byte by byte) from the value, so every character of
a form knows which character of the value it shows; that is how boilerplate in the value (see
``boilerplate``) stays boilerplate in every form.

Base64 of a value *inside* a larger blob depends on where the value starts within its 3-byte
group: each alphabet gets three forms, one per alignment, with the edge characters that mix in
neighbouring bits trimmed off. MIME wraps base64 at 76 characters; the matcher joins such lines.

Out of scope (docs/redaction.md): upper-casing, reversing, UTF-16, base32, pieces shorter than K.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from functools import lru_cache, partial
from urllib.parse import quote

from kvnb.matching.boilerplate import public_mask

# A text and, per character, 1 where it shows boilerplate of the value (None: the value has none).
_Text = tuple[str, "bytes | None"]

REPLACEMENT = "\ufffd"


@dataclass(frozen=True, repr=False)
class Form:
    """One form of a value. ``public`` has a byte per character, 1 where it is boilerplate."""

    text: str
    kind: str
    public: bytes | None = None

    def __repr__(self) -> str:  # never the text
        return f"Form(kind={self.kind!r}, length={len(self.text)})"


# -- character-level encoders (each maps one character to its encoding) --------------------------


@lru_cache(maxsize=4096)
def _json_char(c: str, ascii_only: bool, upper: bool, htmlsafe: bool, slash: bool) -> str:
    text = json.dumps(c, ensure_ascii=ascii_only)[1:-1]
    if htmlsafe:  # jinja2's htmlsafe_json_dumps (and Flask's tojson)
        text = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"}.get(c, text)
    if slash and c == "/":
        text = "\\/"
    if upper:
        text = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), text)
    return text


@lru_cache(maxsize=4096)
def _repr_char(c: str, quote_char: str, ascii_only: bool) -> str:
    if c == quote_char:
        return "\\" + c
    if c in "'\"":
        return c
    return (ascii(c) if ascii_only else repr(c))[1:-1]


def _bytes_repr(b: int, quote_char: str) -> str:
    c = chr(b)
    if c == quote_char:
        return "\\" + c
    if c in "'\"":
        return c
    return repr(bytes([b]))[2:-1]


# Escapers agree on &, < and > but not on quotes and newlines: html.escape writes &#x27; and
# &quot;, markupsafe (Jinja) &#39; and &#34;, XML &apos; and (in attributes) &#10;, minidom
# leaves ' alone.
_HTML_FAMILIES = (
    {"'": "&#x27;", '"': "&quot;"},  # html.escape
    {},  # html.escape(quote=False), xml.sax.saxutils.escape
    {"'": "&#39;", '"': "&#34;"},  # markupsafe / Jinja2, pandas' HTML
    {"'": "&apos;", '"': "&quot;"},  # XML
    {'"': "&quot;"},  # minidom, ElementTree attributes
    {"'": "&#x27;", '"': "&#x22;"},
)
_HTML_NEWLINES = ({}, {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}, {"\n": "&#xA;", "\r": "&#xD;"})
_HTML_NON_ASCII = ("char", "dec", "hex")


# The only characters an HTML escaper may change (beyond non-ASCII ones).
_HTML_SPECIAL = frozenset("&<>'\"\n\r\t")


def _html_char(c: str, family: int, newline: int, non_ascii: str) -> str:
    base = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}.get(c)
    if base:
        return base
    special = _HTML_FAMILIES[family].get(c) or _HTML_NEWLINES[newline].get(c)
    if special:
        return special
    if ord(c) > 127 and non_ascii != "char":
        return f"&#{ord(c)};" if non_ascii == "dec" else f"&#x{ord(c):x};"
    return c


# Percent-encoding: the characters each encoder leaves alone (beyond letters, digits and "_.-~").
_URL_SAFE_SETS = (
    "",  # urllib quote(safe=""), quote_plus, urlencode
    "/",  # urllib quote()
    "!~*'()",  # encodeURIComponent
    ";,/?:@&=+$#!~*'()",  # encodeURI
    "!#$%&'()*+,/:;=?@[]~",  # requests' requote_uri (prepared URLs)
    "".join(chr(i) for i in range(0x20, 0x7F) if chr(i) not in ' "#<>?`{}/:;=@[\\]^|'),  # httpx
    "".join(chr(i) for i in range(0x20, 0x7F) if chr(i) not in ' "#<>?`{}'),  # httpx path
    "".join(chr(i) for i in range(0x20, 0x7F) if chr(i) not in ' "#<>'),  # httpx query
)


@lru_cache(maxsize=8192)
def _url_char(c: str, safe_set: int, plus: bool, lower: bool) -> str:
    if plus and c == " ":
        return "+"
    text = quote(c, safe=_URL_SAFE_SETS[safe_set])
    return text.lower() if lower and "%" in text else text


# -- composing forms ------------------------------------------------------------------------------


def _table(text: _Text, encode) -> dict[str, str]:
    """What ``encode`` does to each distinct character of ``text`` (only those it changes)."""
    return {c: e for c in set(text[0]) if (e := encode(c)) != c}


def _charwise(text: _Text, encode, table: dict[str, str] | None = None) -> _Text:
    chars, public = text
    if table is None:
        table = _table(text, encode)
    if not table:
        return text
    encoded = chars.translate(str.maketrans(table))
    if public is None:
        return encoded, None
    mask = bytearray()
    pos = 0  # runs of unchanged characters copy their flags in one slice
    for match in re.finditer("[" + re.escape("".join(table)) + "]", chars):
        start = match.start()
        mask += public[pos:start]
        mask += public[start : start + 1] * len(table[match.group()])
        pos = start + 1
    mask += public[pos:]
    return encoded, bytes(mask)


def _utf8(text: _Text) -> tuple[bytes, bytes | None]:
    chars, public = text
    data = chars.encode("utf-8")
    if public is None or len(data) == len(chars):
        return data, public
    mask = bytearray()
    for c, flag in zip(chars, public):
        mask += bytes((flag,)) * len(c.encode("utf-8"))
    return data, bytes(mask)


def _bytewise(text: _Text, encode) -> _Text:
    data, public = _utf8(text)
    pieces = [encode(b) for b in data]
    if public is None:
        return "".join(pieces), None
    mask = bytearray()
    for piece, flag in zip(pieces, public):
        mask += bytes((flag,)) * len(piece)
    return "".join(pieces), bytes(mask)


def _base64_forms(text: _Text) -> list[tuple[_Text, str]]:
    """Standalone (padded, unpadded) and embedded at three alignments, in both alphabets."""
    data, public = _utf8(text)
    bits = None
    if public is not None:  # one flag per bit: a base64 character is public if its first bit is
        bits = bytearray(8 * len(public))
        for k in range(8):
            bits[k::8] = public
    found = []
    for encode, kind in ((base64.b64encode, "base64"), (base64.urlsafe_b64encode, "base64url")):
        standalone = encode(data).decode("ascii")
        found.append(((standalone, _base64_mask(bits, 0, 0, len(standalone))), kind))
        for offset in range(3):
            encoded = encode(b"\0" * offset + data).decode("ascii")
            first = -(-8 * offset // 6)  # characters that also carry bits of the bytes before
            last = 8 * (offset + len(data)) // 6  # characters that also carry bits of bytes after
            found.append(((encoded[first:last], _base64_mask(bits, offset, first, last)), kind))
    return found


def _base64_mask(bits, offset: int, first: int, last: int) -> bytes | None:
    if bits is None:
        return None
    shifted = bytes(8 * offset) + bits + bytes(8)
    mask = shifted[6 * first : 6 * last : 6]
    return mask + bytes(last - first - len(mask))


def forms_of(value: str, *, min_length: int = 6, text_only: bool = False) -> list[Form]:
    """Every distinct form of ``value`` at least ``min_length`` characters long, first kind wins.

    ``text_only``: only the raw, line, JSON and repr forms (the ones the others encode), as the
    full list has them."""
    raw: _Text = (value, public_mask(value))
    found: dict[str, Form] = {}

    def add(text: _Text, kind: str) -> None:
        chars, mask = text
        if len(chars) < min_length or chars in found:
            return
        found[chars] = Form(chars, kind, mask if mask and any(mask) else None)

    texts = _text_forms(raw)
    for text, kind in texts:
        add(text, kind)
    for text, kind in _line_forms(raw):
        add(text, kind)
    if text_only:
        return list(found.values())
    for text in _html_inputs(texts):
        seen_tables: set[tuple] = set()
        # Of 54 escapers, most change none of a value's characters: look only at those they may.
        special = [c for c in set(text[0]) if c in _HTML_SPECIAL or c > "\x7f"]
        for family in range(len(_HTML_FAMILIES)):
            for newline in range(len(_HTML_NEWLINES)):
                for non_ascii in _HTML_NON_ASCII:
                    table = {c: e for c in special if (e := _html_char(c, family, newline, non_ascii)) != c}
                    key = tuple(sorted(table.items()))
                    if key not in seen_tables:  # most escapers agree on most values
                        seen_tables.add(key)
                        add(_charwise(text, None, table), "html")
    for safe_set in range(len(_URL_SAFE_SETS)):
        for plus in (False, True):
            for lower in (False, True):
                add(_charwise(raw, partial(_url_char, safe_set=safe_set, plus=plus, lower=lower)), "url")
    for text, kind in texts:
        if kind in ("raw", "json"):
            for encoded, b64kind in _base64_forms(text):
                add(encoded, b64kind)
    add(_bytewise(raw, lambda b: f"{b:02x}"), "hex")
    add(_bytewise(raw, lambda b: f"{b:02X}"), "hex")
    return list(found.values())


def _text_forms(raw: _Text) -> list[tuple[_Text, str]]:
    """The raw value and its escaped text forms (JSON, repr): what HTML and base64 are applied to."""
    value = raw[0]
    texts: list[tuple[_Text, str]] = [(raw, "raw")]
    if "\n" in value:  # printed with Windows line ends
        texts.append((_charwise(raw, lambda c: "\r\n" if c == "\n" else c), "raw"))
    once = []
    for ascii_only in (True, False):
        for upper in (False, True):
            for htmlsafe in (False, True):
                for slash in (False, True):
                    text = _charwise(
                        raw, partial(_json_char, ascii_only=ascii_only, upper=upper, htmlsafe=htmlsafe, slash=slash)
                    )
                    texts.append((text, "json"))
                    if not (upper or htmlsafe or slash):
                        once.append(text)
    for text in once:  # JSON inside a JSON string
        texts.append((_charwise(text, lambda c: _json_char(c, True, False, False, False)), "json"))
    for quote_char in ("'", '"'):
        for ascii_only in (False, True):
            texts.append((_charwise(raw, partial(_repr_char, quote_char=quote_char, ascii_only=ascii_only)), "repr"))
        texts.append((_bytewise(raw, partial(_bytes_repr, quote_char=quote_char)), "repr"))
    seen: set[str] = set()
    unique = []
    for text, kind in texts:
        if text[0] not in seen:
            seen.add(text[0])
            unique.append((text, kind))
    return unique


def _html_inputs(texts: list[tuple[_Text, str]]) -> list[_Text]:
    # HTML shows raw text, a repr (a DataFrame's cells, highlighted code) or JSON (a widget's state).
    chosen = [text for text, kind in texts if kind in ("raw", "repr")]
    json_texts = [text for text, kind in texts if kind == "json"]
    return chosen + json_texts[:2]


def _line_forms(raw: _Text) -> list[tuple[_Text, str]]:
    """Each line of a multi-line value, and the value without its outer whitespace.

    ``pprint`` splits a multi-line string into its lines; ``IPython.display.Code`` drops the
    trailing newline. Lines with their line end are substrings of the raw forms already.
    """
    value, public = raw
    found = []
    stripped = value.strip()
    if stripped != value:
        start = value.index(stripped)
        found.append(((stripped, public and public[start : start + len(stripped)]), "raw"))
    if "\n" in value:
        start = 0
        for line in value.split("\n"):
            bare = line.rstrip("\r")
            found.append(((bare, public and public[start : start + len(bare)]), "line"))
            start += len(line) + 1
    return found


def split_forms(forms: list[Form], window: int) -> list[Form]:
    """Forms as text decoded in separate pieces shows them: a multi-byte character split in two.

    ipykernel reads a subprocess's output 1000 bytes at a time and decodes each read on its own,
    so a character cut by a read boundary arrives as 2-4 U+FFFD. For each non-ASCII character of
    the raw-like forms, the ``window`` characters on either side of it with the character replaced.
    """
    out: dict[str, Form] = {}
    for form in forms:
        if form.kind not in ("raw", "line", "json", "repr") or form.text.isascii():
            continue
        text = form.text
        for i, c in enumerate(text):
            if ord(c) < 128:
                continue
            width = len(c.encode("utf-8"))
            lo, hi = max(0, i - window), min(len(text), i + 1 + window)
            for count in range(2, width + 1):
                variant = text[lo:i] + REPLACEMENT * count + text[i + 1 : hi]
                public = None
                if form.public is not None:
                    public = form.public[lo:i] + b"\0" * count + form.public[i + 1 : hi]
                out.setdefault(variant, Form(variant, form.kind, public))
    return list(out.values())
