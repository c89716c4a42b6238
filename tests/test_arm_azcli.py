"""Opt-in: ``az role assignment list`` and ``create`` against the local vault's ARM (docs/azure-cli.md).

Runs only with ``KVNB_TEST_AZCLI=1`` and ``az`` on PATH: azure-cli is large, so it is not a test
dependency. The cloud is registered *with* endpoint discovery, so ``/metadata/endpoints`` is used too.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from azcli import MARKS, profile_env, run_az
from kvnb.local import control
from kvnb.local.identity import roles

pytestmark = MARKS


@pytest.fixture
def az_lead(local_vault, tmp_path) -> dict:
    """A private Azure CLI profile, its cloud discovered from the local ARM, signed in as the lead."""
    url = local_vault.url
    env = profile_env(local_vault, tmp_path)
    steps = [
        (
            "cloud",
            "register",
            "-n",
            "KvnbLocal",
            "--endpoint-resource-manager",
            f"{url}/",
            "--suffix-keyvault-dns",
            f":{urlsplit(url).port}",
        ),
        ("cloud", "set", "-n", "KvnbLocal"),
        ("login", "--identity", "--allow-no-subscriptions"),
    ]
    for step in steps:
        result = run_az(env, *step)
        assert result.returncode == 0, f"az {' '.join(step[:2])} failed: {result.stderr[-2000:]}"
    return env


def test_az_lists_and_creates_role_assignments_at_the_vault(local_vault, az_lead):
    scope = control.status(local_vault.paths)["vaults"][0]["resource_id"]
    account = json.loads(run_az(az_lead, "account", "show", "-o", "json").stdout)
    assert account["id"] == local_vault.store.subscription_id  # found through GET /subscriptions

    listed = run_az(
        az_lead, "role", "assignment", "list", "--scope", scope, "--fill-principal-name", "false", "-o", "json"
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    names = {a["roleDefinitionName"] for a in json.loads(listed.stdout)}
    assert {
        "Key Vault Administrator",
        "Key Vault Reader",
        "Key Vault Secrets User",
        "Key Vault Data Access Administrator",
    } <= names

    newmember = local_vault.store.db.execute("SELECT id FROM principals WHERE handle = 'newmember'").fetchone()[0]
    created = run_az(
        az_lead,
        "role",
        "assignment",
        "create",
        "--assignee-object-id",
        newmember,
        "--assignee-principal-type",
        "User",
        "--role",
        "Key Vault Secrets User",
        "--scope",
        scope,
        "-o",
        "json",
    )
    assert created.returncode == 0, created.stderr[-2000:]
    made = json.loads(created.stdout)
    assert (made["principalId"], made["principalType"], made["scope"]) == (newmember, "User", scope)
    row = local_vault.store.db.execute(
        "SELECT 1 FROM role_assignments WHERE principal_id = ? AND role_definition_id = ?",
        (newmember, roles.KEY_VAULT_SECRETS_USER),
    ).fetchone()
    assert row is not None
