"""Over-masking: with 100 unrelated values registered, ordinary notebook output stays as it was.

The values are shaped like real ones — two PEM keys, connection strings that share
``Server=tcp:…database.windows.net`` and every keyword with the other teams' strings in the
output, 88-character storage keys, passwords with quotes and non-ASCII, tokens — and the output
(``ordinary_output``) holds pydoc pages, DataFrames, tracebacks, JSON, inline base64 images and
those other connection strings. The share of characters changed is the figure issue 15 asks for
(bench/bench_scrub.py prints it too).
"""

from __future__ import annotations

import pytest

from kvnb.matching import Matcher
from ordinary_output import masked_share, ordinary_output, unrelated_values


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
