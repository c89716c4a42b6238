"""Opt-in: the Azure CLI's ``--assignee`` lookup (Graph) against the local vault (docs/azure-cli-graph.md).

Runs only with ``KVNB_TEST_AZCLI=1`` and ``az`` on PATH: azure-cli is large, so it is not a test
dependency.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from azcli import MARKS, profile_env, run_az
from kvnb.local import control
from kvnb.local.state.directory import Directory

pytestmark = MARKS


@pytest.fixture
def az_env(local_vault, tmp_path):
    """A private Azure CLI profile signed in to the local vault as the lead (managed identity)."""
    url = local_vault.url
    port = urlsplit(url).port
    env = profile_env(local_vault, tmp_path)
    steps = [
        (
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
            "--endpoint-microsoft-graph-resource-id",
            f"{url}/",
            "--suffix-keyvault-dns",
            f":{port}",
        ),
        ("cloud", "set", "-n", "KvnbLocal"),
        ("login", "--identity", "--allow-no-subscriptions"),
    ]
    for step in steps:
        result = run_az(env, *step)
        assert result.returncode == 0, f"az {' '.join(step[:2])} failed: {result.stderr[-2000:]}"
    return env


def test_role_assignment_create_looks_the_assignee_up_in_graph(local_vault, az_env):
    directory = Directory(local_vault.store)
    aad_team = directory.principal_by_handle("aad-team")
    scope = control.status(local_vault.paths)["vaults"][0]["resource_id"]
    result = run_az(
        az_env,
        "role",
        "assignment",
        "create",
        "--assignee",
        aad_team.id,
        "--role",
        "Key Vault Secrets User",
        "--scope",
        scope,
        "-o",
        "json",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    created = json.loads(result.stdout)
    assert created["principalId"] == aad_team.id
    assert created["principalType"] == "User"  # from getByIds' @odata.type, as the CLI derives it
    row = local_vault.store.db.execute(
        "SELECT principal_type FROM role_assignments WHERE principal_id = ? AND role_definition_id = ?",
        (aad_team.id, "4633458b-17de-408a-b874-0445c86b69e6"),
    ).fetchone()
    assert row is not None and row[0] == "User"
    pipeline = directory.principal_by_handle("pipeline")  # by app id: the servicePrincipalNames filter
    result = run_az(
        az_env,
        "role",
        "assignment",
        "create",
        "--assignee",
        pipeline.app_id,
        "--role",
        "Key Vault Reader",
        "--scope",
        scope,
        "-o",
        "json",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["principalId"] == pipeline.id
