"""Running the `kvnb` command the way a user does, in a child process, for tests that need the local
vault in the background (as `kvnb local start` runs it) rather than in a thread."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_kvnb(
    home: Path, *args: str, env: dict | None = None, timeout: float = 120, input: str | None = None
) -> subprocess.CompletedProcess:
    """`kvnb ARGS` with KVNB_HOME=*home*, no KVNB_PERSONA/KVNB_VAULT from the caller and *env* on top;
    whatever its exit code."""
    full = {**os.environ, "KVNB_HOME": str(home)}
    for name in ("KVNB_PERSONA", "KVNB_VAULT"):
        full.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "kvnb.cli", *args],
        env={**full, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
        input=input,
    )


def kvnb_cli(home: Path, *args: str, timeout: float = 120) -> str:
    """`kvnb ARGS` with KVNB_HOME=*home* (and no KVNB_PERSONA from the caller); its stdout."""
    done = run_kvnb(home, *args, timeout=timeout)
    assert done.returncode == 0, f"kvnb {' '.join(args)} failed: {(done.stderr or done.stdout)[-2000:]}"
    return done.stdout
