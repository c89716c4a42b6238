"""Over-masking: with 100 unrelated values registered, ordinary notebook output stays as it was.

The values are shaped like real ones — two PEM keys, connection strings that share
``Server=tcp:…database.windows.net`` and every keyword with the other teams' strings in the
output, 88-character storage keys, passwords with quotes and non-ASCII, tokens — and the output
(``ordinary_output``) holds pydoc pages, DataFrames, tracebacks, JSON, inline base64 images and
those other connection strings. The share of characters changed is the figure issue 15 asks for
(bench/bench_scrub.py prints it too).
"""

from __future__ import annotations

import base64
import secrets
import string

import pytest

from kvnb.matching import Matcher

from ordinary_output import ordinary_output


def unrelated_values(count: int = 100) -> list[str]:
    rng = secrets.SystemRandom()
    values = []
    for _ in range(2):
        body = base64.b64encode(secrets.token_bytes(240)).decode()
        values.append("-----BEGIN PRIVATE KEY-----\n" + "\n".join(
            body[i : i + 64] for i in range(0, 320, 64)) + "\n-----END PRIVATE KEY-----\n")
    for i in range(count // 5):
        values.append(f"Server=tcp:kv{secrets.token_hex(4)}.database.windows.net,1433;Initial "
                      f"Catalog=db{secrets.token_hex(3)};Persist Security Info=False;User ID="
                      f"u{secrets.token_hex(3)};Password={secrets.token_urlsafe(12)};"
                      "MultipleActiveResultSets=False;Encrypt=True;TrustServerCertificate=False;"
                      "Connection Timeout=30;")
        values.append(base64.b64encode(secrets.token_bytes(64)).decode())
        special = list("'\"<&+/%é-") + [rng.choice(string.ascii_letters) for _ in range(15)]
        rng.shuffle(special)
        values.append("".join(special))
    while len(values) < count:
        values.append(secrets.token_urlsafe(24))
    return values


def masked_share(text: str, matcher: Matcher) -> float:
    covered, end = 0, 0
    for match in matcher.find(text):
        start = max(match.start, end)
        covered += max(0, match.end - start)
        end = max(end, match.end)
    return covered / len(text)


@pytest.mark.slow
def test_ordinary_output_is_left_alone_with_100_unrelated_values():
    text = ordinary_output()
    assert len(text) > 1_000_000
    values = unrelated_values()
    matcher = Matcher(min_run=16)
    for i, value in enumerate(values):
        matcher.add(value, f"v{i}")
    share = masked_share(text, matcher)
    assert share < 1e-5, f"{share:.6%} of ordinary output masked"
    # The measure counts what it should: a 20-character piece of a value planted in the output.
    planted = text + "\n" + values[30][2:22] + "\n"
    assert masked_share(planted, matcher) * len(planted) >= share * len(text) + 20
