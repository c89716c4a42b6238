"""What the opt-in Azure CLI tests share: their markers, `az` in a subprocess, a private profile."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

MARKS = [
    pytest.mark.azcli,
    pytest.mark.skipif(
        os.environ.get("KVNB_TEST_AZCLI") != "1",
        reason="Azure CLI tests are opt-in: set KVNB_TEST_AZCLI=1 (and have `az` on PATH).",
    ),
    pytest.mark.skipif(shutil.which("az") is None, reason="The Azure CLI (`az`) is not installed."),
]


def run_az(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["az", *args], env=env, capture_output=True, text=True, timeout=180)


def profile_env(vault, directory: Path, persona: str = "lead") -> dict:
    """This process's environment for `az`: a private profile, acting as *persona* of the local vault.

    Service-principal and identity variables of the caller are dropped, so only the vault's count.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "IDENTITY_", "MSI_"))}
    env.update({k: v for k, v in vault.env(persona).items() if v is not None})
    env.update(
        AZURE_CONFIG_DIR=str(directory / "azure"), AZURE_CORE_COLLECT_TELEMETRY="no", AZURE_CORE_ONLY_SHOW_ERRORS="true"
    )
    return env
