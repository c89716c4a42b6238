"""The official azure-keyvault-secrets samples run unmodified against a fresh, empty local vault.

The samples come from the package's source distribution on PyPI, for the installed version,
downloaded once and kept in pytest's cache directory. Each runs as its own process against its own
background vault (`kvnb local start --challenge-resource ip-parent`, then `kvnb local reset --empty`)
with nothing but `eval "$(kvnb local env)"` applied: no client option, no patch. In the ip-parent
mode the vault advertises a challenge resource the SDK's `verify_challenge_resource` check accepts
for a 127.0.0.1 vault (facts G).

The two backup/restore samples sleep 60 s after purging (real Key Vault needs it). They run as
they are, all samples side by side, so the module costs about one minute instead of two.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.keyvault.secrets import SecretClient

from kvnb.credentials import LocalVaultCredential
from kvnbcli import kvnb_cli

PACKAGE = "azure-keyvault-secrets"
SAMPLE_TIMEOUT = 240  # seconds; the backup samples sleep 60
# Variables of the developer's own shell that would steer DefaultAzureCredential elsewhere; the
# samples must see exactly what `kvnb local env` sets.
_FOREIGN_PREFIXES = ("AZURE_", "IDENTITY_", "MSI_", "IMDS_")


# -- the samples, from the sdist ------------------------------------------------------------------
def _download_samples(into: Path, version: str) -> None:
    with tempfile.TemporaryDirectory() as download:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-binary",
                ":all:",
                "--no-deps",
                "--quiet",
                f"{PACKAGE}=={version}",
                "-d",
                download,
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        archives = list(Path(download).glob("*.tar.gz"))
        if result.returncode != 0 or not archives:
            pytest.fail(
                f"Cannot download the {PACKAGE} {version} source distribution from PyPI, which holds the "
                f"official samples this test runs: {(result.stderr or result.stdout).strip()[-800:]}\n"
                "Allow pip to reach PyPI (or a mirror with sdists) and run the test again.",
                pytrace=False,
            )
        # One staging folder per process: the suite's xdist workers may both download on a fresh clone.
        staging = into.with_name(f"{into.name}.partial-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        with tarfile.open(archives[0]) as archive:
            for member in archive.getmembers():
                parts = Path(member.name).parts
                # Only <root>/samples/*.py, written under its base name: nothing can land elsewhere.
                if member.isfile() and len(parts) == 3 and parts[1] == "samples" and parts[2].endswith(".py"):
                    (staging / parts[2]).write_bytes(archive.extractfile(member).read())
        try:
            staging.rename(into)
        except OSError:  # another worker put the same samples there first
            shutil.rmtree(staging, ignore_errors=True)
            if not into.is_dir():
                raise


@pytest.fixture(scope="session")
def samples_dir(request, tmp_path_factory) -> Path:
    version = importlib.metadata.version(PACKAGE)
    cache = getattr(request.config, "cache", None)  # absent under `-p no:cacheprovider`
    root = cache.mkdir(f"{PACKAGE}-samples") if cache is not None else tmp_path_factory.mktemp("samples")
    target = root / version
    if not (target / "hello_world.py").exists():
        shutil.rmtree(target, ignore_errors=True)
        _download_samples(target, version)
    return target


# -- a background vault per sample ---------------------------------------------------------------------
def _clean_environment(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)}
    env["KVNB_HOME"] = str(home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if any(k.lower() in ("http_proxy", "https_proxy") for k in env):  # facts G: loopback must bypass a proxy
        env["NO_PROXY"] = ",".join(filter(None, [env.get("NO_PROXY"), "127.0.0.1", "localhost"]))
    return env


@dataclass
class SampleRun:
    """One sample process against its own background vault."""

    script: Path
    home: Path
    env: dict = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    result: tuple[int, str, str] | None = None

    def start(self) -> SampleRun:
        kvnb_cli(self.home, "local", "start", "--port", "0", "--challenge-resource", "ip-parent")
        kvnb_cli(self.home, "local", "reset", "--empty")
        self.env = json.loads(kvnb_cli(self.home, "local", "env", "--format", "json"))
        # Exactly what a user types: eval the printed exports, then run the sample as it ships.
        command = f'eval "$({sys.executable} -m kvnb.cli local env)" && exec "{sys.executable}" "{self.script.name}"'
        self.proc = subprocess.Popen(
            ["bash", "-c", command],
            cwd=self.script.parent,
            env=_clean_environment(self.home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return self

    def finish(self) -> tuple[int, str, str]:
        if self.result is None:
            try:
                out, err = self.proc.communicate(timeout=SAMPLE_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                out, err = self.proc.communicate()
                pytest.fail(
                    f"{self.script.name} did not finish within {SAMPLE_TIMEOUT} s:\n{_scrub(out)}\n{_scrub(err)}",
                    pytrace=False,
                )
            self.result = (self.proc.returncode, out, err)
        return self.result

    def client(self) -> SecretClient:
        """An SDK client of this vault, as the lead, to check what the sample left behind.

        Unlike the samples (fresh processes) it runs in the test process, where the SDK's challenge
        cache is process-wide and keyed by host:port: an earlier test's vault on the same (reused)
        port may have left its `vault.azure.net` challenge there, so the resource check is off here.
        """
        ca = self.env["REQUESTS_CA_BUNDLE"]
        credential = LocalVaultCredential(
            self.env["IDENTITY_ENDPOINT"], self.env["IDENTITY_HEADER"], connection_verify=ca
        )
        return SecretClient(self.env["VAULT_URL"], credential, connection_verify=ca, verify_challenge_resource=False)

    def server_log(self) -> str:
        log = self.home / "server.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        subprocess.run(
            [sys.executable, "-m", "kvnb.cli", "local", "stop"],
            capture_output=True,
            timeout=60,
            env={**os.environ, "KVNB_HOME": str(self.home)},
            check=False,
        )


def _scrub(text: str) -> str:
    """The samples print their (fixed, made-up) values; keep even those out of test reports."""
    return re.sub(r"(value:?\s*)'[^']*'", r"\1'***'", text or "")


# -- what each sample must have done ------------------------------------------------------------------
def _steps(sample: str, suffix: str, url: str) -> list[str]:
    """The lines each sample prints, in order (the async variants use names ending in Async)."""
    if sample == "hello_world":
        name = "helloWorldSecretName" + suffix
        return [
            ".. Create Secret",
            f"Secret with name '{name}' created",
            ".. Get a Secret by name",
            f"Secret with name '{name}' was found",
            ".. Update a Secret by name",
            f"Secret with name '{name}' was updated to expire on",
            ".. Deleting Secret...",
            f"Secret with name '{name}' was deleted.",
        ]
    if sample == "list_operations":
        bank, storage = "listOpsBankSecretName" + suffix, "listOpsStorageSecretName" + suffix
        return [
            ".. Create Secret",
            f"Secret with name '{bank}' was created.",
            f"Secret with name '{storage}' was created.",
            ".. List secrets from the Key Vault",
            f"Secret with name '{bank}'",
            f"Secret with name '{storage}'",
            f"Secret with name '{bank}' was updated with new value",
            ".. List versions of the secret using its name",
            f"Bank Secret with name '{bank}' has version:",
            ".. Deleting secrets...",
            ".. List deleted secrets from the Key Vault",
            f"Secret with name '{bank}' has recovery id '{url}/deletedsecrets/{bank}'",
            f"Secret with name '{storage}' has recovery id '{url}/deletedsecrets/{storage}'",
        ]
    if sample == "recover_purge_operations":
        bank, storage = "recoverPurgeBankSecretName" + suffix, "recoverPurgeStorageSecretName" + suffix
        return [
            ".. Create Secret",
            f"Secret with name '{bank}' was created.",
            ".. Delete a Secret",
            f"Secret with name '{bank}' was deleted on date",
            ".. Recover Deleted Secret",
            f"Recovered Secret with name '{bank}'.",
            ".. Deleting secret...",
            ".. Purge Deleted Secret",
            "Secret has been permanently deleted.",
        ]
    name = "backupRestoreSecretName" + suffix
    return [
        ".. Create Secret",
        f"Secret with name '{name}' created",
        ".. Create a backup for an existing Secret",
        f"Backup created for secret with name '{name}'.",
        ".. Deleting secret...",
        f"Deleted secret with name '{name}'",
        ".. Purge the secret",
        f"Purged secret with name '{name}'",
        ".. Restore the secret using the backed up secret bytes",
        f"Restored secret with name '{name}'",
    ]


def _assert_vault_state(sample: str, suffix: str, client: SecretClient) -> None:
    """What the sample leaves behind, read back through the SDK."""
    live = sorted(p.name for p in client.list_properties_of_secrets())
    deleted = sorted(d.name for d in client.list_deleted_secrets())
    if sample == "hello_world":
        name = "helloWorldSecretName" + suffix
        assert (live, deleted) == ([], [name])
        assert client.get_deleted_secret(name).scheduled_purge_date is not None
    elif sample == "list_operations":
        assert (live, deleted) == ([], sorted(["listOpsBankSecretName" + suffix, "listOpsStorageSecretName" + suffix]))
    elif sample == "recover_purge_operations":
        bank, storage = "recoverPurgeBankSecretName" + suffix, "recoverPurgeStorageSecretName" + suffix
        assert (live, deleted) == ([bank], [])
        with pytest.raises(ResourceNotFoundError):
            client.get_deleted_secret(storage)
    else:
        name = "backupRestoreSecretName" + suffix
        assert (live, deleted) == ([name], [])
        assert len(list(client.list_properties_of_secret_versions(name))) == 1


def _require(condition: bool, message: str) -> None:
    # Not `assert`: its introspection would print the sample's output, values and all.
    if not condition:
        pytest.fail(message, pytrace=False)


def _check(run: SampleRun, sample: str, suffix: str) -> None:
    code, out, err = run.finish()
    _require(code == 0, f"{run.script.name} exited {code}:\n{_scrub(out)[-3000:]}\n{_scrub(err)[-3000:]}")
    position = 0
    for step in _steps(sample, suffix, run.env["VAULT_URL"]):
        found = out.find(step, position)
        _require(found >= 0, f"{run.script.name} did not print {step!r} (in order); its output:\n{_scrub(out)}")
        position = found + len(step)
    if suffix:
        _require(out.rstrip().endswith("run_sample done"), f"{run.script.name} did not finish its steps")
    if sample == "list_operations":  # one set, then a second version of the bank secret
        _require(out.count("Bank Secret with name") == 2, "list_operations did not list two versions")
    client = run.client()
    try:
        _assert_vault_state(sample, suffix, client)
    finally:
        client.close()
    log = run.server_log()
    assert "ERROR" not in log and "Traceback" not in log, f"the local vault logged an error:\n{log[-2000:]}"


SAMPLES = ["hello_world", "list_operations", "recover_purge_operations"]
BACKUP = "backup_restore_operations"


def _selected_runs(session) -> list[tuple[str, str]]:
    """(sample, suffix) of this module's tests that this run selected (`-k` may pick a few)."""
    wanted = []
    for item in session.items:
        if item.module.__name__ == __name__ and hasattr(item, "callspec"):
            wanted.append((item.callspec.params.get("sample", BACKUP), item.callspec.params["suffix"]))
    return wanted


@pytest.fixture(scope="module")
def sample_runs(request, samples_dir, tmp_path_factory):
    """Every selected sample started at once, each against its own background vault: the backup
    samples sleep 60 s after their purge, and the others finish while they sleep."""
    runs = {
        (sample, suffix): SampleRun(
            samples_dir / f"{sample}{'_async' if suffix else ''}.py",
            tmp_path_factory.mktemp(f"{sample}-{suffix or 'sync'}") / "home",
        )
        for sample, suffix in _selected_runs(request.session)
    }
    # Starting and stopping wait on child processes (`kvnb local ...`): done for all runs at once.
    with ThreadPoolExecutor(max_workers=len(runs) or 1) as pool:
        try:
            for started in [pool.submit(sample_run.start) for sample_run in runs.values()]:
                started.result()
            yield runs
        finally:
            for stopped in [pool.submit(sample_run.stop) for sample_run in runs.values()]:
                stopped.result()


@pytest.mark.parametrize("suffix", ["", "Async"], ids=["sync", "async"])
@pytest.mark.parametrize("sample", SAMPLES)
def test_official_sample_runs_unmodified(sample_runs, sample, suffix):
    _check(sample_runs[(sample, suffix)], sample, suffix)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["", "Async"], ids=["sync", "async"])
def test_official_backup_restore_sample_runs_unmodified(sample_runs, suffix):
    _check(sample_runs[(BACKUP, suffix)], BACKUP, suffix)
