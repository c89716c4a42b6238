"""Throttling at Key Vault's real limits, answered as the service answers; the SDK recovers."""

from __future__ import annotations

import ssl
import time

import httpx


def test_burst_over_the_limit_gets_429_in_the_real_shape(local_vault):
    local_vault.admin("faults", {"throttle": True})
    service = local_vault.service
    service.faults.limit_all = 20  # the real 4,000 per 10 s, scaled down to keep the test short
    token = local_vault.credential("lead").get_token("https://vault.azure.net/.default").token
    statuses = []
    with httpx.Client(
        verify=ssl.create_default_context(cafile=local_vault.ca), headers={"Authorization": f"Bearer {token}"}
    ) as client:
        for _ in range(30):
            response = client.get(f"{local_vault.url}/secrets?api-version=2026-04-01")
            statuses.append(response.status_code)
            if response.status_code == 429:
                body = response.json()
                assert body["error"]["code"] == "Throttled"
                assert "VaultRequestTypeLimitReached" in body["error"]["message"]
                assert "retry-after" not in response.headers  # the real service sends none
    assert statuses[:20] == [200] * 20
    assert set(statuses[20:]) == {429}


def test_creates_have_their_own_lower_limit(local_vault):
    local_vault.admin("faults", {"throttle": True})
    local_vault.service.faults.limit_create = 3
    token = local_vault.credential("lead").get_token("https://vault.azure.net/.default").token
    with httpx.Client(
        verify=ssl.create_default_context(cafile=local_vault.ca), headers={"Authorization": f"Bearer {token}"}
    ) as client:
        codes = [
            client.put(f"{local_vault.url}/secrets/burst{i}?api-version=2026-04-01", json={"value": "v"}).status_code
            for i in range(5)
        ]
        assert codes == [200, 200, 200, 429, 429]
        assert client.get(f"{local_vault.url}/secrets/burst0/?api-version=2026-04-01").status_code == 200


def test_sdk_recovers_within_its_retry_policy(local_vault):
    """Limits scaled down (10 per 2 s window, not 4,000 per 10 s) so the SDK's backoff outlasts the window."""
    local_vault.admin("faults", {"throttle": True})
    faults = local_vault.service.faults
    faults.limit_all, faults.window_seconds = 10, 2.0
    client = local_vault.secret_client("lead")
    began = time.monotonic()
    values = [client.get_secret("APICaller").value for _ in range(15)]  # over the limit
    elapsed = time.monotonic() - began
    every_read = all(values)  # outside the assert, whose report would show all()'s argument: the values
    assert every_read
    assert elapsed > 2.0  # it was throttled and backed off...
    assert elapsed < 60  # ...and got through within its retry policy


def test_latency_knob_delays_requests(local_vault):
    client = local_vault.secret_client("lead")
    client.get_secret("APICaller")
    local_vault.admin("faults", {"latency_ms": 200})
    began = time.monotonic()
    client.get_secret("APICaller")
    assert time.monotonic() - began >= 0.2
