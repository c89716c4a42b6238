"""The local vault's process, TLS and token endpoint, as a user and an unmodified SDK see them."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import jwt
import pytest
from click.testing import CliRunner

from kvnb.cli import cli
from kvnb.local import control
from kvnb.local.state.paths import StatePaths


def test_certificate_is_valid_for_loopback(local_vault):
    ctx = ssl.create_default_context(cafile=local_vault.ca)
    with urllib.request.urlopen(f"{local_vault.url}/_kvnb/admin/health", context=ctx) as resp:
        assert json.loads(resp.read())["ok"] is True
    localhost = local_vault.url.replace("127.0.0.1", "localhost")
    with urllib.request.urlopen(f"{localhost}/_kvnb/admin/health", context=ctx) as resp:
        assert resp.status == 200


def test_plain_http_is_not_served(local_vault):
    with pytest.raises((urllib.error.URLError, ConnectionError)):  # no HTTP answer on the TLS port
        urllib.request.urlopen(local_vault.url.replace("https", "http") + "/_kvnb/admin/health", timeout=5)


def test_token_endpoint_issues_signed_jwt_for_persona(local_vault):
    token = local_vault.credential("lead").get_token("https://vault.azure.net/.default")
    claims = jwt.decode(token.token, options={"verify_signature": False})
    assert claims["aud"] == "https://vault.azure.net"
    assert claims["upn"] == "lead@kvnblocal.onmicrosoft.com"
    assert claims["tid"] == local_vault.store.tenant_id
    assert claims["exp"] == token.expires_on
    assert jwt.get_unverified_header(token.token)["alg"] == "RS256"


def test_default_azure_credential_unmodified_uses_local_identity(local_vault, monkeypatch):
    from azure.identity import DefaultAzureCredential

    for name, value in local_vault.env("lead").items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "MSI_ENDPOINT", "IMDS_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    with DefaultAzureCredential() as credential:
        token = credential.get_token("https://vault.azure.net/.default")
    assert jwt.decode(token.token, options={"verify_signature": False})["upn"] == "lead@kvnblocal.onmicrosoft.com"


def test_unknown_identity_header_gets_no_token(local_vault):
    from azure.identity import CredentialUnavailableError

    from kvnb.credentials import LocalVaultCredential

    cred = LocalVaultCredential(local_vault.token_endpoint, "not-a-header", connection_verify=local_vault.ca)
    with pytest.raises(CredentialUnavailableError):
        cred.get_token("https://vault.azure.net/.default")


def test_admin_routes_refuse_without_the_owner_token(local_vault):
    ctx = ssl.create_default_context(cafile=local_vault.ca)
    req = urllib.request.Request(f"{local_vault.url}/_kvnb/admin/clock", data=b'{"reset": true}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, context=ctx)
    assert info.value.code == 403
    info.value.close()


def test_runtime_file_is_private(local_vault):
    assert local_vault.paths.runtime.stat().st_mode & 0o077 == 0
    assert local_vault.paths.master_key.stat().st_mode & 0o077 == 0
    assert local_vault.paths.signing_key.stat().st_mode & 0o077 == 0


@pytest.fixture
def cli_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KVNB_HOME", str(tmp_path / "home"))
    yield StatePaths.resolve(tmp_path / "home")
    control.stop(StatePaths.resolve(tmp_path / "home"))


def test_cli_start_status_env_stop(cli_home):
    runner = CliRunner()
    result = runner.invoke(cli, ["local", "start", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert "Started" in result.output
    again = runner.invoke(cli, ["local", "start", "--port", "0"])
    assert "Already running" in again.output

    status = runner.invoke(cli, ["local", "status", "--json"])
    assert status.exit_code == 0
    info = json.loads(status.output)
    assert info["running"] is True
    assert set(info) >= {
        "pid",
        "home",
        "ca_path",
        "ca_bundle",
        "token_endpoint",
        "arm_url",
        "graph_url",
        "tenant_id",
        "subscription_id",
        "vaults",
    }
    (vault,) = info["vaults"]
    assert vault["name"] == "azDevOpsKV01"
    assert vault["resource_id"] == (
        f"/subscriptions/{info['subscription_id']}/resourceGroups/rg-devops"
        "/providers/Microsoft.KeyVault/vaults/azDevOpsKV01"
    )

    env = runner.invoke(cli, ["local", "env"]).output
    assert f"export VAULT_URL={vault['url']}" in env
    assert "unset AZURE_CLIENT_SECRET" in env and "export SSL_CERT_FILE=" in env

    # the printed environment works for an unmodified program in a fresh process
    script = (
        "from azure.identity import DefaultAzureCredential as D;"
        "import jwt;t=D().get_token('https://vault.azure.net/.default').token;"
        "print(jwt.decode(t, options={'verify_signature': False})['upn'])"
    )
    out = subprocess.run(
        ["bash", "-c", f'eval "$(kvnb local env)"; unset AZURE_CLIENT_ID; {sys.executable} -c "{script}"'],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": os.path.dirname(sys.executable) + ":" + os.environ["PATH"]},
    )
    assert out.stdout.strip() == "lead@kvnblocal.onmicrosoft.com", out.stderr[-2000:]

    stopped = runner.invoke(cli, ["local", "stop"])
    assert "Stopped" in stopped.output
    after = runner.invoke(cli, ["local", "status"])
    assert after.exit_code == 3


def test_cli_port_taken_gives_one_line(cli_home, local_vault):
    port = local_vault.service.first_port
    result = CliRunner().invoke(cli, ["local", "start", "--port", str(port)])
    assert result.exit_code == 1
    assert f"Port {port} on 127.0.0.1 is taken" in result.output
    assert "Traceback" not in result.output


def test_cli_commands_need_a_running_vault(cli_home):
    result = CliRunner().invoke(cli, ["local", "clock", "--advance", "1h"])
    assert result.exit_code == 1
    assert "Run `kvnb local start`" in result.output


def test_unwritable_state_dir_is_a_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # a home below a regular file cannot be created, even by root
    monkeypatch.setenv("KVNB_HOME", str(blocker / "home"))
    result = CliRunner().invoke(cli, ["local", "status"])
    assert result.exit_code == 1
    assert "is not writable" in result.output and "KVNB_HOME" in result.output
    assert "Traceback" not in result.output
