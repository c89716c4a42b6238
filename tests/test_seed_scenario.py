"""The seed's team, seen through the official SDK: each identity has exactly its rights."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError
from click.testing import CliRunner

from kvnb.cli import cli
from kvnb.local.identity import roles
from kvnb.local.seed.scenario import SECRETS, vault_scope
from kvnb.local.state.assignments import create_assignment
from kvnb.local.state.directory import Directory
from valuecheck import assert_different_value

REPO = Path(__file__).resolve().parents[1]


def _forbidden(call) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as info:
        call()
    assert info.value.status_code == 403
    return info.value


def test_newmember_lists_names_but_cannot_read_values(local_vault):
    client = local_vault.secret_client("newmember")
    names = {p.name for p in client.list_properties_of_secrets()}
    assert names == {s.name for s in SECRETS}
    error = _forbidden(lambda: client.get_secret("APICaller"))
    assert error.error.code == "Forbidden"
    assert "ForbiddenByRbac" in str(error)
    assert "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'" in error.message
    assert "/secrets/apicaller'" in error.message  # the resource is lower-cased, as Azure has it


def test_member_reads_but_cannot_write(local_vault):
    client = local_vault.secret_client("member")
    assert client.get_secret("APICaller").value
    _forbidden(lambda: client.set_secret("APICaller", "x"))


def test_azuread_team_cannot_even_list(local_vault):
    error = _forbidden(lambda: list(local_vault.secret_client("aad-team").list_properties_of_secrets()))
    assert "secrets/readMetadata/action" in error.message


def test_pipeline_service_principal_reads_through_its_group(local_vault):
    assert local_vault.secret_client("pipeline").get_secret("DbConnectionString").value


def test_shortcut_user_reads_through_a_direct_assignment(local_vault):
    assert local_vault.secret_client("shortcut").get_secret("APICaller").value


def test_disabled_user_gets_no_token(local_vault):
    from azure.identity import CredentialUnavailableError

    with pytest.raises(CredentialUnavailableError):
        local_vault.credential("leaver").get_token("https://vault.azure.net/.default")


def test_lead_administers(local_vault):
    client = local_vault.secret_client("lead")
    version = client.set_secret("NewOne", "value-for-test").properties.version
    assert client.get_secret("NewOne").properties.version == version


def test_seed_secrets_have_the_planted_spread(local_vault):
    props = {p.name: p for p in local_vault.secret_client("lead").list_properties_of_secrets()}
    assert props["LegacyFtpPassword"].enabled is False
    assert props["DbConnectionString"].expires_on is None
    assert props["ServicePrincipalSecret"].content_type is None
    assert len(list(local_vault.secret_client("lead").list_properties_of_secret_versions("APICaller"))) == 3


def test_time_bound_assignment_ends_with_the_vault_clock(local_vault):
    store = local_vault.store
    aad = Directory(store).principal_by_handle("aad-team")
    create_assignment(
        store,
        vault_scope(store) + "/secrets/APICaller",
        roles.KEY_VAULT_SECRETS_OFFICER,
        aad.id,
        "User",
        end_time=store.now() + 3600,
    )
    client = local_vault.secret_client("aad-team")
    client.set_secret("APICaller", "new-value-from-the-aad-team")
    _forbidden(lambda: client.set_secret("DbConnectionString", "x"))  # that secret only

    lead = local_vault.secret_client("lead")
    lead.get_secret("APICaller")  # the lead's token is cached from here on
    local_vault.admin("clock", {"advance_seconds": 61 * 60})
    _forbidden(lambda: client.set_secret("APICaller", "too-late"))
    lead.set_secret("APICaller", "rotated-by-the-lead")  # same cached token, still fine


def test_reset_regenerates_values(local_vault):
    before = local_vault.secret_client("lead").get_secret("APICaller").value
    local_vault.admin("reset", {})
    after = local_vault.secret_client("lead").get_secret("APICaller").value
    assert_different_value(before, after)


def test_personas_lists_every_identity(local_vault, monkeypatch):
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    result = CliRunner().invoke(cli, ["local", "personas", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["handle"]: r for r in json.loads(result.output)}
    assert rows["newmember"]["groups"] == ["azDevOpsKV01_reader"]
    assert rows["pipeline"]["principal_type"] == "ServicePrincipal"
    assert rows["azDevOpsKV01_admin"]["principal_type"] == "Group"
    assert rows["contractor"]["user_type"] == "Guest"
    assert rows["leaver"]["enabled"] is False
    assert "identity_header" not in result.output and all(
        local_vault.store.db.execute("SELECT identity_header FROM principals WHERE handle = ?", (h,)).fetchone()[0]
        not in result.output
        for h in ("lead", "member")
    )


def test_personas_table_lists_people_apart_from_groups(local_vault, monkeypatch):
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    out = CliRunner().invoke(cli, ["local", "personas"]).output
    people, groups = out.split("Groups (cannot sign in")
    assert people.startswith("People and apps (act as one with --persona NAME")
    assert re.search(r"^  lead\s+User\s", people, re.M) and re.search(r"^  pipeline\s+ServicePrincipal", people, re.M)
    assert re.search(r"^  leaver\s+User\s.*\(cannot sign in\)", people, re.M)
    assert "azDevOpsKV01_admin" in groups and not re.search(r"^  azDevOpsKV01_admin", people, re.M)
    typo = CliRunner().invoke(cli, ["local", "login", "membre"])
    assert typo.exit_code == 1 and "No local identity 'membre'. Did you mean member, newmember?" in typo.output


def test_login_sets_the_default_identity(local_vault, monkeypatch):
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    runner = CliRunner()
    assert runner.invoke(cli, ["local", "login", "member"]).exit_code == 0
    env = json.loads(runner.invoke(cli, ["local", "env", "--format", "json"]).output)
    member = Directory(local_vault.store).principal_by_handle("member")
    assert env["IDENTITY_HEADER"] == member.identity_header
    refused = runner.invoke(cli, ["local", "login", "azDevOpsKV01_admin"])
    assert refused.exit_code == 1 and "cannot sign in" in refused.output


def test_no_secret_value_of_a_fresh_seed_is_in_the_repository(local_vault):
    client = local_vault.secret_client("lead")
    values = [
        client.get_secret(p.name, p.version).value
        for s in client.list_properties_of_secrets()
        for p in client.list_properties_of_secret_versions(s.name)
        if p.enabled
    ]
    count = len(values)  # outside the assert, whose report would show len()'s argument: the values
    assert count >= len(SECRETS)
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        path = REPO / name.decode()
        if path.is_file():
            data = path.read_bytes()
            assert not any(v.encode() in data for v in values), f"a secret value appears in {name.decode()}"
