"""`kvnb audit` on the seed: as the Key Vault Reader `newmember`, exit codes, and no secret value in any output."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from kvnb.cli.audit import audit
from kvnb.local.seed.scenario import FIRST_VAULT


@pytest.fixture
def seed(local_vault, monkeypatch):
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    monkeypatch.delenv("KVNB_PERSONA", raising=False)
    return local_vault


def every_value(vault) -> list[str]:
    """Every version's value of every secret, read with the lead's SecretClient (test side only)."""
    client = vault.secret_client("lead")
    values = []
    for item in client.list_properties_of_secrets():
        for version in client.list_properties_of_secret_versions(item.name):
            if version.enabled:
                values.append(client.get_secret(item.name, version.version).value)
    return values


def invoke(*args: str):
    return CliRunner().invoke(audit, list(args), catch_exceptions=False)


def test_a_key_vault_reader_audits_and_is_told_what_it_could_not_see(seed):
    result = invoke("local", "--output", "json", "--persona", "newmember")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert set(document) == {"vaults", "generated_at", "identity"}
    assert document["identity"].startswith("newmember@")
    vault = document["vaults"][0]
    assert vault["name"] == FIRST_VAULT and vault["url"].startswith("https://127.0.0.1:")
    found = {f["id"] for f in vault["findings"]}
    assert {"S1", "S3", "S4", "S5", "S6", "V3", "R2", "R4", "R5", "R7"} <= found
    not_seen = {check for lim in vault["limitations"] for check in lim["checks"]}
    assert {"P1", "P2", "P3", "P4"} <= not_seen  # no AccessReview.Read.All
    reviews = next(lim for lim in vault["limitations"] if "P4" in lim["checks"])
    assert "AccessReview.Read.All" in reviews["reason"]
    assert vault["tables"]["reviews"] is None
    assert len(vault["tables"]["secrets"]) == 7
    assert {row["name"] for row in vault["tables"]["secrets"]} >= {"APICaller", "DbConnectionString"}


def test_no_output_format_contains_a_secret_value(seed, tmp_path):
    values = every_value(seed)
    count = len(values)  # outside the assert, whose report would show len()'s argument: the values
    assert count >= 10
    outputs = {}
    for output in ("json", "csv", "html", "markdown", "table"):
        result = invoke("local", "--output", output)
        assert result.exit_code == 0, output
        outputs[output] = result.output
    tables = tmp_path / "tables"
    tables.mkdir()
    result = invoke("local", "--output", "csv", "--out", str(tables))
    assert result.exit_code == 0
    written = sorted(path.name for path in tables.iterdir())
    assert f"{FIRST_VAULT}_secrets.csv" in written and "findings.csv" in written
    outputs.update({path.name: path.read_text() for path in tables.iterdir()})
    for name, text in outputs.items():
        leaked = [index for index, value in enumerate(values) if value in text]
        assert not leaked, f"{name} contains the value of secret version #{leaked[0]}"


def test_exit_codes(seed, tmp_path):
    failed = invoke("local", "--fail-on", "high")
    assert failed.exit_code == 1  # the guest holds access (R4)
    assert "at or above --fail-on high: " in failed.stderr and "R4 high (azDevOpsKV01)" in failed.stderr
    passed = invoke("local", "--fail-on", "none")
    assert passed.exit_code == 0 and "--fail-on" not in passed.stderr
    report = tmp_path / "audit.html"
    wrote = invoke("local", "--output", "html", "--out", str(report))
    assert wrote.exit_code == 0 and wrote.stdout == ""
    assert re.fullmatch(
        rf"Wrote the html report of azDevOpsKV01 \(\d+ findings\) to {re.escape(str(report))}\.\n", wrote.stderr
    )
    assert report.read_text().count("<svg") == 2
    result = CliRunner().invoke(audit, ["not a vault!"])
    assert result.exit_code == 2 and "is not a vault name" in result.output
    result = CliRunner().invoke(audit, ["local", "--persona", "nobody"])
    assert result.exit_code == 2 and "No local identity" in result.output
    result = CliRunner().invoke(audit, ["local", "--persona", "laed"])
    assert result.exit_code == 2 and "Did you mean lead?" in result.output
    result = CliRunner().invoke(audit, [])
    assert result.exit_code == 2 and "No vault given" in result.output and "--vault VAULT" in result.output


def test_the_vault_may_come_from_kvnb_vault(seed, monkeypatch):
    monkeypatch.setenv("KVNB_VAULT", "local")
    result = invoke("--output", "json")
    assert result.exit_code == 0, result.output
    assert [v["name"] for v in json.loads(result.stdout)["vaults"]] == [FIRST_VAULT]


def test_several_vaults_in_one_run(seed):
    seed.admin("vaults", {"name": "kvTwo"})
    result = invoke("local", "local:kvTwo", "--output", "json")
    assert result.exit_code == 0, result.output
    vaults = json.loads(result.output)["vaults"]
    assert [v["name"] for v in vaults] == [FIRST_VAULT, "kvTwo"]
    assert vaults[1]["tables"]["secrets"] == [] and len(vaults[0]["tables"]["secrets"]) == 7
