"""Public boilerplate inside a value: text every value of its kind carries, so it proves nothing.

A PEM key starts with ``-----BEGIN PRIVATE KEY-----``; every Azure SQL connection string has
``Server=tcp:``, ``.database.windows.net``, ``;Encrypt=True;``. A run of an output that is made
*only* of such text (with the whitespace, ``;`` and ``,`` between) is not a copy of the secret (another team's connection string has the same
keywords), so it is not masked; a run holding one character of anything else is.

The list is documented in docs/redaction.md ("Boilerplate"); keep the two in step.
"""

from __future__ import annotations

import re

# Connection-string keywords (ADO.NET / ODBC / JDBC, Azure Storage, Service Bus / Event Hubs,
# Cosmos DB, Redis), matched with their "=" and the ";" before them.
KEYWORDS = (
    "Server",
    "Data Source",
    "Address",
    "Addr",
    "Network Address",
    "Initial Catalog",
    "Database",
    "User ID",
    "UID",
    "User",
    "Username",
    "Password",
    "Pwd",
    "Persist Security Info",
    "MultipleActiveResultSets",
    "Encrypt",
    "TrustServerCertificate",
    "Connection Timeout",
    "Connect Timeout",
    "Command Timeout",
    "Authentication",
    "Integrated Security",
    "Application Name",
    "ApplicationIntent",
    "MultiSubnetFailover",
    "Pooling",
    "Max Pool Size",
    "Min Pool Size",
    "Driver",
    "Port",
    "SslMode",
    "Ssl Mode",
    "sslmode",
    "DefaultEndpointsProtocol",
    "AccountName",
    "AccountKey",
    "EndpointSuffix",
    "BlobEndpoint",
    "QueueEndpoint",
    "TableEndpoint",
    "FileEndpoint",
    "Endpoint",
    "SharedAccessKeyName",
    "SharedAccessKey",
    "SharedAccessSignature",
    "EntityPath",
    "AccountEndpoint",
    "ssl",
    "abortConnect",
    "password",
)
# Keyword values that are the same in everyone's strings.
PUBLIC_SETTINGS = (
    r"(?:True|False|true|false|yes|no|Yes|No|\d{1,5}|https?|tcp|SqlPassword|"
    r"Active Directory (?:Password|Integrated|Interactive|Default|Managed Identity)|"
    r"RootManageSharedAccessKey|ReadOnly|ReadWrite|require|disable|prefer|verify-full|"
    r"\{ODBC Driver \d+ for SQL Server\}|core\.windows\.net)"
)
# Host name suffixes of public clouds (each also with a leading "."), and URL schemes.
DOMAIN_SUFFIXES = (
    "database.windows.net",
    "database.azure.com",
    "postgres.database.azure.com",
    "mysql.database.azure.com",
    "blob.core.windows.net",
    "queue.core.windows.net",
    "table.core.windows.net",
    "file.core.windows.net",
    "dfs.core.windows.net",
    "core.windows.net",
    "servicebus.windows.net",
    "vault.azure.net",
    "azurewebsites.net",
    "documents.azure.com",
    "redis.cache.windows.net",
    "cache.windows.net",
    "azure-devices.net",
    "azurecr.io",
    "windows.net",
    "azure.com",
    "amazonaws.com",
    "googleapis.com",
    "localhost",
)

_PEM_ARMOUR = r"-----(?:BEGIN|END) [A-Z0-9 ]+-----"
_KEYWORD = "|".join(re.escape(k) for k in sorted(KEYWORDS, key=len, reverse=True))
_DOMAIN = "|".join(re.escape(d) for d in sorted(DOMAIN_SUFFIXES, key=len, reverse=True))
PATTERN = re.compile(
    rf"{_PEM_ARMOUR}"
    rf"|(?:^|(?<=;))\s*(?:{_KEYWORD})\s*=(?:{PUBLIC_SETTINGS}(?=;|,|$|\s))?;?"
    rf"|,\d{{1,5}}(?=;|$)"
    rf"|tcp:"
    rf"|[;,\s]"
    rf"|\.?(?:{_DOMAIN})(?::\d{{1,5}})?/?"
    rf"|https?://|sb://|amqps?://|wss?://",
    re.IGNORECASE | re.MULTILINE,
)


def public_mask(value: str) -> bytes | None:
    """One byte per character of ``value``: 1 where it is public boilerplate. None when none is."""
    spans = [m.span() for m in PATTERN.finditer(value) if m.end() > m.start()]
    if not spans:
        return None
    mask = bytearray(len(value))
    for start, end in spans:
        mask[start:end] = b"\1" * (end - start)
    return bytes(mask)
