"""What ``%load_ext kvnb`` adds to a kernel's start-up (goal: at most 150 ms).

    python bench/bench_load_ext.py [--runs 7] [--kernel-runs 5]

Two measurements, each a median over fresh processes:

1. **In a fresh IPython process**: the wall time of ``%load_ext kvnb`` itself (cold imports, magic
   registration, redaction hooks), and how many modules it imports — none of them Azure or pandas.
2. **In a real kernel**: start an ipykernel and time its first cell, either ``pass`` (bare) or
   ``%load_ext kvnb``, alternating to share the noise; the kernel's own start time for scale.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_MS = 150.0

_PROBE = r"""
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
before = set(sys.modules)
began = time.perf_counter()
shell.run_line_magic("load_ext", "kvnb")
elapsed = time.perf_counter() - began
added = set(sys.modules) - before
heavy = sorted(m for m in added if m.split(".")[0] in ("azure", "pandas", "msal", "requests", "numpy"))
print(json.dumps({"ms": elapsed * 1000, "modules": len(added), "heavy": heavy}))
"""


def in_process(runs: int) -> dict:
    results = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, cwd=ROOT, timeout=120
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {
        "median_ms": statistics.median(r["ms"] for r in results),
        "min_ms": min(r["ms"] for r in results),
        "modules": results[0]["modules"],
        "heavy": results[0]["heavy"],
    }


def _kernel_run(code: str) -> tuple[float, float]:
    """(seconds to a ready kernel, seconds for its first cell *code*)."""
    from jupyter_client.manager import start_new_kernel

    began = time.perf_counter()
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        ready = time.perf_counter()
        reply = client.execute_interactive(code, timeout=60, output_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok", reply["content"]
        return ready - began, time.perf_counter() - ready
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def in_kernel(runs: int) -> dict:
    starts, bare, loaded = [], [], []
    _kernel_run("pass")  # warm the disk cache
    for _ in range(runs):
        start, cell = _kernel_run("pass")
        starts.append(start)
        bare.append(cell)
        start, cell = _kernel_run("%load_ext kvnb")
        starts.append(start)
        loaded.append(cell)
    return {
        "start_ms": statistics.median(starts) * 1000,
        "bare_ms": statistics.median(bare) * 1000,
        "loaded_ms": statistics.median(loaded) * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--kernel-runs", type=int, default=5)
    args = parser.parse_args(argv)

    cold = in_process(args.runs)
    print(
        f"%load_ext kvnb in a fresh IPython process: median {cold['median_ms']:.1f} ms "
        f"(min {cold['min_ms']:.1f} ms) over {args.runs} processes; {cold['modules']} modules imported; "
        f"Azure/pandas imported: {cold['heavy'] or 'none'}"
    )
    kernel = in_kernel(args.kernel_runs)
    added = kernel["loaded_ms"] - kernel["bare_ms"]
    print(
        f"real kernel: start to ready {kernel['start_ms']:.0f} ms; first cell `pass` {kernel['bare_ms']:.1f} ms, "
        f"first cell `%load_ext kvnb` {kernel['loaded_ms']:.1f} ms (medians of {args.kernel_runs}); "
        f"added {added:.1f} ms = {added / kernel['start_ms']:.1%} of a kernel's start "
        f"(start+cell ratio {(kernel['start_ms'] + kernel['loaded_ms']) / (kernel['start_ms'] + kernel['bare_ms']):.3f})"
    )
    worst = max(cold["median_ms"], added)
    verdict = "meets" if worst <= GOAL_MS else "MISSES"
    print(f"goal: at most {GOAL_MS:.0f} ms added — {verdict} it (worst measure {worst:.1f} ms)")
    return 0 if worst <= GOAL_MS else 1


if __name__ == "__main__":
    sys.exit(main())
