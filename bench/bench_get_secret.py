"""Benchmark: the local vault's get-secret throughput over TLS, and its start-up times.

    python bench/bench_get_secret.py [--clients 16] [--seconds 10]

Starts a fresh local vault in a temporary KVNB_HOME (a real background process, as
`kvnb local start` runs it), measures

* cold start (first run: CA, server certificate and signing key generated) and warm start (the
  median of ``--warm-starts`` stop/start cycles: one start on a busy machine says little);
* GET /secrets/{name}/ with N concurrent keep-alive clients (one aiohttp connection each, a token
  fetched once, as the SDK caches it) for a fixed time, throttling off: requests/s and latency
  percentiles;
* the baseline in the same run: the same server, TLS and clients on its health route (no token
  check, no database, no decryption), so the ratio shows what the Key Vault work costs.

Goals (issue 2): >= 800 requests/s with p99 < 50 ms at 16 clients; cold start < 2 s; warm < 1 s.
The load generator runs in this process on the same 2 cores as the server, so the figures are a
lower bound for the server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def kvnb(home: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KVNB_HOME": home}
    return subprocess.run(
        [sys.executable, "-m", "kvnb.cli", *args], env=env, capture_output=True, text=True, check=False, timeout=120
    )


def timed_start(home: str) -> float:
    began = time.perf_counter()
    result = kvnb(home, "local", "start", "--port", "0")
    elapsed = time.perf_counter() - began
    if result.returncode != 0:
        sys.exit(f"start failed: {result.stderr or result.stdout}")
    return elapsed


async def load(url: str, headers: dict, ctx: ssl.SSLContext, clients: int, seconds: float) -> list[float]:
    import aiohttp

    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    max_requests = 2_000_000  # a bound on the loop besides the time

    async def worker() -> None:
        connector = aiohttp.TCPConnector(ssl=ctx, limit=1)
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            while time.perf_counter() < deadline and len(latencies) < max_requests:
                began = time.perf_counter()
                async with session.get(url) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"unexpected status {resp.status}")
                latencies.append(time.perf_counter() - began)

    await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies


def summarise(label: str, latencies: list[float], seconds: float) -> dict:
    latencies = sorted(latencies)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    result = {
        "label": label,
        "requests": len(latencies),
        "rps": len(latencies) / seconds,
        "p50_ms": pick(0.50),
        "p99_ms": pick(0.99),
    }
    print(
        f"{label:<28} {result['rps']:8.0f} req/s   p50 {result['p50_ms']:6.1f} ms   "
        f"p99 {result['p99_ms']:6.1f} ms   ({result['requests']} requests)"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warm-starts", type=int, default=3)
    args = parser.parse_args()

    from azure.keyvault.secrets import SecretClient

    from kvnb.credentials import LocalVaultCredential
    from kvnb.local import control
    from kvnb.local.state.paths import StatePaths

    with tempfile.TemporaryDirectory() as home:
        cold = timed_start(home)
        warm_runs = []
        for _ in range(max(1, args.warm_starts)):
            kvnb(home, "local", "stop")
            warm_runs.append(timed_start(home))
        warm = sorted(warm_runs)[len(warm_runs) // 2]
        try:
            paths = StatePaths.resolve(home)
            runtime = control.running(paths)
            ca = str(paths.ca_cert)
            credential = LocalVaultCredential(
                runtime.token_endpoint, control.identity_header(paths, "lead"), connection_verify=ca
            )
            client = SecretClient(runtime.base_url, credential, verify_challenge_resource=False, connection_verify=ca)
            client.set_secret("BenchSecret", secrets.token_urlsafe(32))
            token = credential.get_token("https://vault.azure.net/.default").token
            ctx = ssl.create_default_context(cafile=ca)

            print(
                f"cold start {cold:.2f} s (goal < 2 s)   warm start {warm:.2f} s (goal < 1 s; median of "
                f"{len(warm_runs)}, max {max(warm_runs):.2f} s)"
            )
            print(f"{args.clients} concurrent clients, {args.seconds:.0f} s each, TLS, throttling off")
            base = summarise(
                "baseline: health route",
                asyncio.run(load(f"{runtime.base_url}/_kvnb/admin/health", {}, ctx, args.clients, args.seconds)),
                args.seconds,
            )
            kv = summarise(
                "get-secret (RBAC, AES-GCM)",
                asyncio.run(
                    load(
                        f"{runtime.base_url}/secrets/BenchSecret/?api-version=2026-04-01",
                        {"Authorization": f"Bearer {token}"},
                        ctx,
                        args.clients,
                        args.seconds,
                    )
                ),
                args.seconds,
            )
            print(f"get-secret / baseline throughput ratio: {kv['rps'] / base['rps']:.2f}")
            verdict = kv["rps"] >= 800 and kv["p99_ms"] < 50
            print(f"goal >= 800 req/s with p99 < 50 ms: {'met' if verdict else 'NOT met'}")
            print(
                json.dumps(
                    {
                        "cold_start_s": cold,
                        "warm_start_s": warm,
                        "warm_starts_s": warm_runs,
                        "baseline": base,
                        "get_secret": kv,
                    }
                )
            )
            client.close()
        finally:
            kvnb(home, "local", "stop")


if __name__ == "__main__":
    main()
