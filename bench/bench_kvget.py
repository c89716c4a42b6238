"""Warm ``%kvget`` (cache off) against a raw ``SecretClient.get_secret`` (goal: at most 1.1×).

    python bench/bench_kvget.py [--calls 50] [--rounds 30] [--latency-ms 0]

Starts a local vault in the background in a throwaway ``KVNB_HOME`` (a separate process, as
`kvnb local start` runs it), loads kvnb into an IPython shell, and times, in alternating rounds:

* **raw**: ``client.get_secret("APICaller")`` with the very ``SecretClient`` (same vault, same
  credential, same connection pool) that ``%kvget`` uses;
* **kvget**: ``%kvget APICaller`` with ``KvMagics.cache_ttl = 0`` — every call goes to the vault —
  redaction installed, and its confirmation line printed (to /dev/null).

Prints the median over blocks of the per-call time of each, and the ratio. ``--latency-ms`` adds server latency to
see the ratio under a network-like round trip. Values are never printed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GOAL = 1.10


def _time_calls(function, calls: int) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) per call."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        function()
    return (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls


def _overhead(shell, target, calls: int = 2000) -> float:
    """CPU µs per %kvget beyond the SDK call: the same magic over a client that answers at once."""
    bundle = target.secret_client.get_secret("APICaller")

    class Answering:
        def get_secret(self, name, version=None, **kwargs):
            return bundle

    real = target.__dict__["secret_client"]
    target.__dict__["secret_client"] = Answering()
    try:
        _, cpu = _time_calls(lambda: shell.run_line_magic("kvget", "APICaller --persona member"), calls)
    finally:
        target.__dict__["secret_client"] = real
    return cpu * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50, help="calls per block")
    parser.add_argument("--rounds", type=int, default=30, help="alternating blocks per side")
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args(argv)

    home = tempfile.mkdtemp(prefix="kvnb-bench-")
    os.environ.update(KVNB_HOME=home, KVNB_VAULT="local", KVNB_CACHE_TTL="0")
    from kvnb.local import control
    from kvnb.local.paths import StatePaths

    paths = StatePaths.resolve(home)
    control.start(paths, port=0)
    try:
        if args.latency_ms:
            control.admin(paths, "faults", {"latency_ms": args.latency_ms})
        return _bench(args)
    finally:
        from kvnb import fetch

        fetch.close_targets()
        control.stop(paths)


def _bench(args) -> int:
    from IPython.core.interactiveshell import InteractiveShell

    from kvnb import fetch

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "kvnb")
    shell.run_line_magic("config", "KvMagics.cache_ttl = 0")
    target = fetch.open_target("local", persona="member")
    client = target.secret_client

    def raw():
        client.get_secret("APICaller")

    def kvget():
        shell.run_line_magic("kvget", "APICaller --persona member")

    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        for _ in range(20):  # warm: token, TLS session, imports, redaction pattern
            raw()
            kvget()
        raw_times, kvget_times = [], []
        for round_ in range(args.rounds):  # alternate which side goes first, to share drift
            sides = [(raw, raw_times), (kvget, kvget_times)]
            for function, times in (sides if round_ % 2 == 0 else sides[::-1]):
                times.append(_time_calls(function, args.calls))
        overhead_us = _overhead(shell, target)
    assert fetch.open_target("local", persona="member").secret_client is client  # one connection pool

    raw_ms, kvget_ms = (statistics.median(t[0] for t in times) * 1000 for times in (raw_times, kvget_times))
    raw_cpu, kvget_cpu = (statistics.median(t[1] for t in times) * 1000 for times in (raw_times, kvget_times))
    ratio = kvget_ms / raw_ms
    print(f"local vault, {args.rounds} alternating blocks of {args.calls} calls per side, "
          f"latency {args.latency_ms} ms, load average {os.getloadavg()[0]:.1f}")
    print(f"raw SecretClient.get_secret: median {raw_ms:.3f} ms/call wall, {raw_cpu:.3f} ms CPU")
    print(f"%kvget (cache off):          median {kvget_ms:.3f} ms/call wall, {kvget_cpu:.3f} ms CPU "
          f"(+{kvget_ms - raw_ms:.3f} ms wall)")
    print(f"%kvget's own cost over an instant client: {overhead_us:.0f} µs CPU per call")
    print(f"CPU ratio {kvget_cpu / raw_cpu:.3f}")
    verdict = "meets" if ratio <= GOAL else "MISSES"
    print(f"wall ratio {ratio:.3f} — goal at most {GOAL:.2f}×: {verdict} it")
    shell.run_line_magic("unload_ext", "kvnb")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
