"""Collection at scale: paced inside the throttle, 429s honoured, first results before version counts.

The local vault's throttle is scaled down (a few hundred requests per 2 s window instead of
4,000 per 10 s) so the tests see the same behaviour in a few seconds.
"""

from __future__ import annotations

import asyncio
import secrets as random_source
import time

import pytest

from kvnb.audit.collect import AuditProgress, VaultAudit, iter_vault_audit
from kvnb.audit.pacing import RequestPacer
from kvnb.local.seed.scenario import FIRST_VAULT
from kvnb.local.state.secrets import set_secret

LIMIT, WINDOW = 120, 2.0  # requests per window: 60 per second


@pytest.fixture
def crowded(local_vault, monkeypatch):
    """The seed plus 150 more secrets of 1-3 versions each, written through the store."""
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    monkeypatch.delenv("KVNB_PERSONA", raising=False)
    for index in range(150):
        for _ in range(1 + index % 3):
            set_secret(
                local_vault.store,
                FIRST_VAULT,
                f"bulk-{index:03d}",
                random_source.token_urlsafe(12),
                content_type="text/plain",
            )
    faults = local_vault.service.faults
    faults.limit_all, faults.window_seconds = LIMIT, WINDOW
    return local_vault


@pytest.fixture
def target(crowded):
    from kvnb.vault import open_vault

    opened = open_vault("local", persona="lead")
    yield opened
    opened.close()
    opened.credential.close()


async def run(target, pacer) -> tuple[list[AuditProgress], VaultAudit, list[float]]:
    events, stamps = [], []
    began = time.perf_counter()
    async for event in iter_vault_audit(target, pacer=pacer):
        stamps.append(time.perf_counter() - began)
        if isinstance(event, VaultAudit):
            return events, event, stamps
        events.append(event)
    raise AssertionError("the audit ended without a result")


def expected_counts() -> dict[str, int]:
    return {f"bulk-{index:03d}": 1 + index % 3 for index in range(150)}


@pytest.mark.slow
def test_pacing_stays_inside_the_throttle_and_first_results_come_early(crowded, target):
    crowded.service.faults.throttle = True
    # A 2-second window leaves a 5% margin of only 6 requests, less than a stall of the in-thread
    # server can bunch up; the margin is widened to what 5% of 4,000 is worth at full scale.
    pacer = RequestPacer.for_limit(LIMIT, WINDOW, share=0.85, rate_share=0.8)
    events, result, stamps = asyncio.run(run(target, pacer))
    assert result.throttled == 0 and pacer.stats.throttled == 0  # paced, never refused
    counts = result.tables.secrets.set_index("name")["version_count"].to_dict()
    assert {name: counts[name] for name in expected_counts()} == expected_counts()
    assert result.requests >= 157 + 7  # 7 list pages + one per secret + challenge
    minimum = (result.requests - pacer.burst) / pacer.rate  # what the pace allows at best
    assert minimum * 0.9 < result.seconds < minimum * 2 + 5  # paced: not faster than the pace allows
    stages = [event.stage for event in events]
    first_page = stages.index("secrets_first_page")
    assert events[first_page].tables.secrets["version_count"].isna().all()
    assert len(events[first_page].tables.secrets) == 25
    done_counting = max(i for i, stage in enumerate(stages) if stage == "versions")
    assert first_page < done_counting and stages.index("role_assignments") < done_counting
    assert stages.index("reviews") < done_counting
    assert stamps[first_page] < 3.0


@pytest.mark.slow
def test_429s_are_honoured_when_the_pace_is_too_fast(crowded, target):
    crowded.service.faults.throttle = True
    greedy = RequestPacer(rate=2000, burst=2000)  # ignores the vault's limit
    _, result, _ = asyncio.run(run(target, greedy))
    assert greedy.stats.throttled > 0  # the vault refused some ...
    counts = result.tables.secrets.set_index("name")["version_count"].to_dict()
    assert {name: counts[name] for name in expected_counts()} == expected_counts()  # ... and none was lost
