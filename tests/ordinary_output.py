"""Ordinary notebook output, made on the spot: what cells print and display when no secret is in
them. Used to measure how much redaction changes that it should not (over-masking).

Made from what is installed here: pydoc pages (text and HTML) of the standard library and the
Azure SDK, pandas DataFrames as text, HTML and ``describe()``/``info()``, tracebacks, JSON,
package listings, inline PNG-sized base64 blobs (plots are stored so), and connection strings of
other teams that share the public keywords and domains of the registered ones.
"""

from __future__ import annotations

import base64
import importlib
import importlib.metadata
import io
import json
import pydoc
import random
import secrets
import string
import traceback

MODULES = (
    "json",
    "re",
    "collections",
    "pathlib",
    "argparse",
    "logging",
    "datetime",
    "base64",
    "hashlib",
    "azure.keyvault.secrets",
)


def ordinary_output(seed: int = 15) -> str:
    rng = random.Random(seed)
    parts: list[str] = []
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        parts.append(pydoc.render_doc(module, renderer=pydoc.plaintext))
        if rng.random() < 0.3:
            parts.append(pydoc.HTMLDoc().document(module))
    parts += _pandas(rng)
    for _ in range(20):
        try:
            {"a": 1}[f"missing-{rng.randrange(10**6)}"]
        except KeyError:
            parts.append(traceback.format_exc())
    parts.append(
        json.dumps(
            [
                {"id": i, "name": f"item {i}", "score": rng.random(), "tags": rng.sample(["a", "b", "c", "d"], 2)}
                for i in range(2000)
            ],
            indent=2,
        )
    )
    parts.append("\n".join(f"{d.metadata['Name']:40} {d.version}" for d in importlib.metadata.distributions()))
    for _ in range(12):  # an inline plot: data:image/png;base64,...
        parts.append(base64.b64encode(rng.randbytes(30_000)).decode())
    for team in ("billing", "reporting", "search"):
        parts.append(
            f"Server=tcp:{team}-sql.database.windows.net,1433;Initial Catalog={team};"
            f"Persist Security Info=False;User ID={team}_reader;Password=<placeholder>;"
            "MultipleActiveResultSets=False;Encrypt=True;TrustServerCertificate=False;"
            "Connection Timeout=30;"
        )
        parts.append(
            f"DefaultEndpointsProtocol=https;AccountName={team}store;AccountKey=<key>;EndpointSuffix=core.windows.net"
        )
    return "\n".join(parts)


def _pandas(rng: random.Random) -> list[str]:
    import pandas as pd

    parts = []
    for size in (10, 60, 500):
        frame = pd.DataFrame(
            {
                "date": pd.date_range("2026-01-01", periods=size, freq="h"),
                "group": [rng.choice(["alpha", "beta", "gamma", "delta"]) for _ in range(size)],
                "value": [rng.gauss(100, 15) for _ in range(size)],
                "count": [rng.randrange(1000) for _ in range(size)],
                "label": [f"row-{i:05d}" for i in range(size)],
            }
        )
        parts += [repr(frame), frame.to_html(), repr(frame.describe())]
        buffer = io.StringIO()
        frame.info(buf=buffer)
        parts.append(buffer.getvalue())
        parts.append(repr(frame.groupby("group")["value"].agg(["mean", "std", "count"])))
    return parts


def unrelated_values(count: int = 100) -> list[str]:
    """Values shaped like real ones: two PEM keys, then connection strings sharing every keyword
    and domain, 88-character storage keys and passwords with quotes and non-ASCII in turn, then
    tokens."""
    rng = secrets.SystemRandom()
    values = []
    for _ in range(2):
        body = base64.b64encode(secrets.token_bytes(240)).decode()
        values.append(
            "-----BEGIN PRIVATE KEY-----\n"
            + "\n".join(body[i : i + 64] for i in range(0, 320, 64))
            + "\n-----END PRIVATE KEY-----\n"
        )
    for _ in range(count // 5):
        values.append(
            f"Server=tcp:kv{secrets.token_hex(4)}.database.windows.net,1433;Initial "
            f"Catalog=db{secrets.token_hex(3)};Persist Security Info=False;User ID="
            f"u{secrets.token_hex(3)};Password={secrets.token_urlsafe(12)};"
            "MultipleActiveResultSets=False;Encrypt=True;TrustServerCertificate=False;"
            "Connection Timeout=30;"
        )
        values.append(base64.b64encode(secrets.token_bytes(64)).decode())
        special = list("'\"<&+/%é-") + [rng.choice(string.ascii_letters) for _ in range(15)]
        rng.shuffle(special)
        values.append("".join(special))
    while len(values) < count:
        values.append(secrets.token_urlsafe(24))
    return values


def masked_share(text: str, matcher) -> float:
    """The share of ``text``'s characters that ``matcher`` masks (overlaps counted once)."""
    covered, end = 0, 0
    for match in matcher.find(text):
        start = max(match.start, end)
        covered += max(0, match.end - start)
        end = max(end, match.end)
    return covered / len(text)
