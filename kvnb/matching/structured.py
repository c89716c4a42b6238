"""The secret parts of structured values: a connection string's password, a URL's userinfo.

A connection string is 184 characters, its password 9: printed alone (a log line, a DataFrame
of parsed settings) the password is far below any run of the whole string that would count. So the
parts a reader must not see are registered as values of their own, masked whole.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

# Keys whose value is a credential (ADO.NET/ODBC, Azure Storage, Service Bus, Event Hubs, Redis).
SECRET_KEYS = (
    "password",
    "pwd",
    "accountkey",
    "sharedaccesskey",
    "sharedaccesssignature",
    "primarykey",
    "secondarykey",
    "secret",
    "clientsecret",
    "token",
    "sig",
)

_PAIR = re.compile(
    r"(?:^|;)\s*([A-Za-z][A-Za-z0-9 _.-]*?)\s*=\s*"
    r"(\{(?:[^}]|\}\})*\}|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[^;]*)"
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@]*@[^\s]*")
_QUERY_SECRET = re.compile(r"[?&](?:sig|token|code|key|password|secret)=([^&#\s]+)", re.IGNORECASE)


def secret_parts(value: str) -> list[str]:
    """The credential parts of ``value`` worth masking on their own (never ``value`` itself)."""
    parts: list[str] = []
    if "=" in value:
        for match in _PAIR.finditer(value):
            key = match.group(1).replace(" ", "").lower()
            if key in SECRET_KEYS:
                parts.append(_unquoted(match.group(2).strip()))
    for match in _URL.finditer(value):
        userinfo = urlsplit(match.group()).netloc.rpartition("@")[0]
        user, _, password = userinfo.partition(":")
        parts += [password, unquote(password)] if password else [user, unquote(user)]
    for match in _QUERY_SECRET.finditer(value):
        parts += [match.group(1), unquote(match.group(1))]
    unique = []
    for part in parts:
        if part and part != value and part not in unique:
            unique.append(part)
    return unique


def _unquoted(text: str) -> str:
    if len(text) >= 2 and text[0] == "{" and text[-1] == "}":
        return text[1:-1].replace("}}", "}")
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].replace(text[0] * 2, text[0])
    return text
