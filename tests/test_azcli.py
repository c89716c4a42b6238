"""Opt-in: the Azure CLI's ``az keyvault secret`` commands against the local vault (docs/azure-cli.md).

Runs only with ``KVNB_TEST_AZCLI=1`` and ``az`` on PATH: azure-cli is large, so it is not a test
dependency. The cloud is registered as in the facts (G.1): endpoint discovery skipped, every
endpoint given, Key Vault's DNS suffix being the vault's port (``--vault-name 127.0.0.1``), then
``az login --identity`` through the local token endpoint.

Secret values are random, passed with ``--value`` (the CLI's command log records ``{}`` for it) and
compared in memory; a failing command shows its stderr only, never its output.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from urllib.parse import urlsplit

import pytest

from azcli import MARKS, profile_env
from valuecheck import assert_not_leaked, assert_same_value

pytestmark = MARKS

VAULT = ("--vault-name", "127.0.0.1")  # + the cloud's Key Vault suffix ":PORT" = https://127.0.0.1:PORT


class Az:
    """Runs `az` in a private profile; ``json`` and ``tsv`` return output, ``fails`` returns stderr."""

    def __init__(self, env: dict):
        self.env = env

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["az", *args], env=self.env, capture_output=True, text=True, timeout=180)

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        if result.returncode != 0:  # stderr only: stdout may hold a secret value
            pytest.fail(f"az {' '.join(args[:3])} failed: {result.stderr[-2000:]}", pytrace=False)
        return result.stdout

    def json(self, *args: str):
        return json.loads(self.ok(*args, "-o", "json") or "null")

    def tsv(self, *args: str) -> str:
        return self.ok(*args, "-o", "tsv").strip()

    def fails(self, *args: str) -> str:
        result = self.run(*args, "-o", "none")
        assert result.returncode != 0, f"az {' '.join(args[:3])} unexpectedly succeeded"
        return result.stderr


@pytest.fixture
def az(empty_vault, tmp_path) -> Az:
    """A private Azure CLI profile pointed at the local vault, signed in as the lead."""
    url = empty_vault.url
    env = profile_env(empty_vault, tmp_path)
    cli = Az(env)
    cli.ok(
        "cloud",
        "register",
        "-n",
        "KvnbLocal",
        "--skip-endpoint-discovery",
        "--endpoint-resource-manager",
        f"{url}/",
        "--endpoint-active-directory",
        url,
        "--endpoint-active-directory-resource-id",
        "https://management.core.windows.net/",
        "--suffix-keyvault-dns",
        f":{urlsplit(url).port}",
    )
    cli.ok("cloud", "set", "-n", "KvnbLocal")
    cli.ok("login", "--identity", "--allow-no-subscriptions", "-o", "none")
    return cli


def test_az_keyvault_secret_life_cycle(empty_vault, az, tmp_path):
    name, first, second = "az-cli-secret", secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    url = empty_vault.url

    created = az.json("keyvault", "secret", "set", *VAULT, "-n", name, "--value", first)
    assert created["id"].startswith(f"{url}/secrets/{name}/") and created["attributes"]["enabled"] is True
    newer = az.json("keyvault", "secret", "set", *VAULT, "-n", name, "--value", second)
    assert_same_value(az.tsv("keyvault", "secret", "show", "--id", f"{url}/secrets/{name}", "--query", "value"), second)
    assert_same_value(az.tsv("keyvault", "secret", "show", "--id", created["id"], "--query", "value"), first)

    assert [s["name"] for s in az.json("keyvault", "secret", "list", *VAULT)] == [name]
    versions = az.json("keyvault", "secret", "list-versions", *VAULT, "-n", name)
    assert sorted(v["id"] for v in versions) == sorted([created["id"], newer["id"]])

    updated = az.json(
        "keyvault",
        "secret",
        "set-attributes",
        *VAULT,
        "-n",
        name,
        "--content-type",
        "text/plain",
        "--tags",
        "env=test",
        "team=devops",
    )
    assert (updated["contentType"], updated["tags"]) == ("text/plain", {"env": "test", "team": "devops"})
    assert updated["id"] == newer["id"]

    backup = tmp_path / "secret.backup"  # an opaque, encrypted blob: no value in the clear
    az.ok("keyvault", "secret", "backup", *VAULT, "-n", name, "--file", str(backup))
    assert backup.stat().st_size > 0
    assert_not_leaked(second, backup.read_bytes())

    deleted = az.json("keyvault", "secret", "delete", *VAULT, "-n", name)
    assert deleted["recoveryId"] == f"{url}/deletedsecrets/{name}"
    assert [d["name"] for d in az.json("keyvault", "secret", "list-deleted", *VAULT)] == [name]
    assert az.json("keyvault", "secret", "show-deleted", *VAULT, "-n", name)["scheduledPurgeDate"]
    assert "SecretNotFound" in az.fails("keyvault", "secret", "show", *VAULT, "-n", name)

    recovered = az.json("keyvault", "secret", "recover", *VAULT, "-n", name)
    assert recovered["id"] == newer["id"]
    assert_same_value(az.tsv("keyvault", "secret", "show", *VAULT, "-n", name, "--query", "value"), second)

    az.ok("keyvault", "secret", "delete", *VAULT, "-n", name, "-o", "none")
    az.ok("keyvault", "secret", "purge", *VAULT, "-n", name)
    assert "Deleted Secret not found" in az.fails("keyvault", "secret", "show-deleted", *VAULT, "-n", name)
    assert az.json("keyvault", "secret", "list-deleted", *VAULT) == []

    restored = az.json("keyvault", "secret", "restore", *VAULT, "--file", str(backup))
    assert (restored["name"], restored["id"]) == (name, newer["id"])
    assert restored["tags"] == {"env": "test", "team": "devops"}
    assert_same_value(az.tsv("keyvault", "secret", "show", *VAULT, "-n", name, "--query", "value"), second)
    assert len(az.json("keyvault", "secret", "list-versions", *VAULT, "-n", name)) == 2


def test_az_sees_key_vaults_errors(empty_vault, az):
    name = "az-cli-disabled"
    az.ok("keyvault", "secret", "set", *VAULT, "-n", name, "--value", secrets.token_urlsafe(16), "-o", "none")
    az.ok("keyvault", "secret", "set-attributes", *VAULT, "-n", name, "--enabled", "false", "-o", "none")
    disabled = az.fails("keyvault", "secret", "show", *VAULT, "-n", name)
    assert "Operation get is not allowed on a disabled secret." in disabled and "SecretDisabled" in disabled

    az.ok("keyvault", "secret", "delete", *VAULT, "-n", name, "-o", "none")
    reuse = az.fails("keyvault", "secret", "set", *VAULT, "-n", name, "--value", secrets.token_urlsafe(16))
    assert "ObjectIsDeletedButRecoverable" in reuse
    assert "SecretNotFound" in az.fails("keyvault", "secret", "show", *VAULT, "-n", "no-such-secret")
