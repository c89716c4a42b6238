"""The encoded forms in which a value reaches output, as literal search needles.

A value rarely leaves a kernel only as typed: ``repr`` and JSON escape it, HTML escapes it, a URL
percent-encodes it, an HTTP Basic header or a data URI base64-encodes it together with other bytes,
a debug dump shows it in hex.

Base64 is the one form that depends on context. The characters of ``b64encode(prefix + value)``
that carry *only* the value's bits depend on where the value starts within its 3-byte group, so
each alphabet gets three needles, one per alignment, with the edge characters that mix in
neighbouring bits trimmed off. The standalone encodings (with and without ``=`` padding) are
needles as well, so a value encoded on its own is masked whole.
"""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote, quote_plus

# Shorter values (and shorter encoded forms) would match ordinary words and identifiers; masking
# them would garble unrelated output while protecting little.
MIN_LENGTH = 6

_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")
# encodeURIComponent in browsers and JavaScript leaves these unescaped; Python's quote does not.
_JS_SAFE = "!'()*~"


def needles(value: str) -> dict[str, str]:
    """Map each needle (at least ``MIN_LENGTH`` characters) to the name of its form.

    Forms: raw, json, repr, html (also of the JSON and repr forms), url, base64, base64url, hex.
    When two forms give the same text (a URL-safe token is its own JSON and URL form) the first
    listed names it.
    """
    found: dict[str, str] = {}

    def add(text: str, form: str) -> None:
        if len(text) >= MIN_LENGTH and text not in found:
            found[text] = form

    raw_forms = [value]
    if "\n" in value:  # a PEM key or other multi-line value, printed with Windows line ends
        raw_forms.append(value.replace("\r\n", "\n").replace("\n", "\r\n"))
    for text in raw_forms:
        add(text, "raw")
    json_forms = _json_forms(value)
    repr_forms = [repr(value)[1:-1], ascii(value)[1:-1], repr(value.encode("utf-8"))[2:-1]]
    for text in json_forms:
        add(text, "json")
    for text in repr_forms:
        add(text, "repr")
    # HTML escapes the text it shows, which may itself be a repr or JSON (a DataFrame of dicts,
    # highlighted code).
    for text in [value, *repr_forms, *json_forms]:
        for escaped in _html_forms(text):
            add(escaped, "html")
    for text in _url_forms(value):
        add(text, "url")
    data = value.encode("utf-8")
    for encode, form in ((base64.b64encode, "base64"), (base64.urlsafe_b64encode, "base64url")):
        for text in _base64_forms(data, encode):
            add(text, form)
    add(data.hex(), "hex")
    add(data.hex().upper(), "hex")
    return found


def _json_forms(value: str) -> list[str]:
    once = [json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]]
    # JSON inside a JSON string (a config blob printed as JSON), and writers that escape "/".
    twice = [json.dumps(text)[1:-1] for text in once]
    slashed = [text.replace("/", "\\/") for text in once]
    return once + twice + slashed


def _html_forms(value: str) -> list[str]:
    # Escapers agree on &, < and > but not on quotes: html.escape writes &#x27;, minidom (SVG)
    # leaves ' alone and writes &quot;, others write &#39; or &#34;.
    base = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return [base.replace('"', dq).replace("'", sq)
            for dq in ('"', "&quot;", "&#34;") for sq in ("'", "&#x27;", "&#39;")]


def _url_forms(value: str) -> list[str]:
    forms = [quote(value, safe=""), quote(value, safe="/"), quote(value, safe=_JS_SAFE),
             quote_plus(value, safe=""), quote_plus(value, safe="/")]
    # RFC 3986 prefers upper-case escapes, but some encoders write %2f.
    return forms + [_PERCENT_ESCAPE.sub(lambda m: m.group().lower(), text) for text in forms]


def _base64_forms(data: bytes, encode) -> list[str]:
    standalone = encode(data).decode("ascii")
    forms = [standalone, standalone.rstrip("=")]
    for offset in range(3):
        encoded = encode(b"\0" * offset + data).decode("ascii")
        first = -(-8 * offset // 6)  # characters that also carry bits of the bytes before
        last = 8 * (offset + len(data)) // 6  # characters that also carry bits of the bytes after
        forms.append(encoded[first:last])
    return forms
