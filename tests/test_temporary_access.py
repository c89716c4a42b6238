"""The seed's scenario 3, option 1, end to end: temporary access for the AzureAD team.

The lead grants the "AzureAD team" group Key Vault Secrets Officer on APICaller only, for one hour
(a PIM schedule request); the team sets the new key with `kvnb secret rotate` (value from an
environment variable, so it never crosses to the lead); the lead verifies it by fingerprint; code
that fetches at run time keeps working while a copy taken before gets 401 at the demo API; the grant
ends at its end time (or earlier by revoke) and the team's next attempt gets 403.
"""

from __future__ import annotations

import re
import secrets
import ssl
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from azure.core.exceptions import HttpResponseError
from click.testing import CliRunner

import kvnb.access as access
from kvnb import errors, fetch
from kvnb.cli.secret import secret
from kvnb.rotation import RotationRefused, rotate_secret, value_from_env
from valuecheck import assert_no_trace

OFFICER = "Key Vault Secrets Officer"
TEAM = "AzureAD team"
VERIFIED = re.compile(r"Verified: fingerprint set ([0-9a-f]{12}) = read back ([0-9a-f]{12})\.")


@pytest.fixture
def kvnb_env(local_vault, monkeypatch):
    """What the people's shells have: the local vault as the default vault."""
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    monkeypatch.setenv("KVNB_VAULT", "local")
    monkeypatch.delenv("KVNB_PERSONA", raising=False)
    yield local_vault
    fetch.close_targets()


def ping(vault, key: str) -> int:
    """The demo API's answer to `GET /demo-api/ping` with *key* as X-API-Key."""
    with httpx.Client(verify=ssl.create_default_context(cafile=vault.ca)) as client:
        return client.get(f"{vault.url}/demo-api/ping", headers={"X-API-Key": key}).status_code


def team_rotates(value: str):
    """aad-team runs `kvnb secret rotate` with the new key in PARTNER_API_KEY."""
    return CliRunner().invoke(
        secret,
        [
            "rotate",
            "APICaller",
            "--persona",
            "aad-team",
            "--from-env",
            "PARTNER_API_KEY",
            "--reason",
            "partner API key reissued after the leak",
        ],
        env={"PARTNER_API_KEY": value},
        catch_exceptions=False,
    )


def refused_by_the_vault(vault) -> bool:
    """The team's plain SDK call, without kvnb: does the vault answer 403?"""
    try:
        vault.secret_client("aad-team").set_secret("APICaller", secrets.token_urlsafe(32))
    except HttpResponseError as exc:
        return exc.status_code == 403
    return False


def test_one_hour_grant_rotation_verified_by_fingerprint_then_it_ends(open_as, kvnb_env):
    vault, lead = kvnb_env, open_as("lead")
    before = team_rotates(secrets.token_urlsafe(32))
    assert before.exit_code == 2 and "you hold no role there" in before.stderr  # no grant yet

    # A member's copy of the key, taken before the rotation (as if pasted into a script).
    old_copy = fetch.fetch_secrets(["APICaller"], target=open_as("member"))[0].reveal()
    status = ping(vault, old_copy)  # each call outside the assert, whose report would show the key
    assert status == 200

    granted = access.grant(
        lead,
        TEAM,
        OFFICER,
        secret="APICaller",
        duration="1h",
        justification="SecOps: rotate the leaked partner API key",
    )
    assert granted.created and granted.scope.endswith("/secrets/APICaller")
    vault_now = datetime.now(timezone.utc)
    assert timedelta(minutes=59) < granted.end_time - vault_now <= timedelta(minutes=61)

    new_key = secrets.token_urlsafe(32)
    rotated = team_rotates(new_key)
    assert rotated.exit_code == 0, rotated.output
    reported = VERIFIED.search(rotated.stdout)
    assert reported and reported[1] == reported[2]
    assert_no_trace(rotated.output, new_key, old_copy)

    # The lead verifies by fingerprint: the key never travelled to them.
    seen_by_lead = fetch.fetch_secrets(["APICaller"], target=lead)[0]
    assert seen_by_lead.fingerprint == reported[1]
    assert seen_by_lead.tags["rotated-by"] == "aad-team@kvnblocal.onmicrosoft.com"
    assert seen_by_lead.tags["rotation-reason"] == "partner API key reissued after the leak"

    # Code that fetches at run time keeps working; the copy taken before does not.
    at_run_time = vault.secret_client("member").get_secret("APICaller").value
    status, old_status = ping(vault, at_run_time), ping(vault, old_copy)
    assert status == 200 and old_status == 401

    # Secret scope only: the grant reaches no other secret.
    with pytest.raises(RotationRefused):
        rotate_secret("WebhookSigningKey", lambda: value_from_env("UNUSED"), persona="aad-team")

    # Still inside the hour, the team may set it; one minute past its end, it may not.
    vault.admin("clock", {"advance_seconds": 59 * 60})
    assert not refused_by_the_vault(vault)
    vault.admin("clock", {"advance_seconds": 2 * 60})
    assert refused_by_the_vault(vault)
    after = team_rotates(secrets.token_urlsafe(32))
    assert after.exit_code == 2 and "You may not set APICaller" in after.stderr  # kvnb stops before the value
    assert access.effective_access(lead, "aad-team", secret="APICaller").roles == ()
    # Asked anyway (no advance check), the vault's own 403 comes back as kvnb's short message.
    with pytest.raises(errors.AccessDeniedError, match=r"Access denied: you may not .* APICaller in azDevOpsKV01"):
        rotate_secret("APICaller", secrets.token_urlsafe(32), persona="aad-team", check_access=False)
    current = vault.secret_client("lead").get_secret("APICaller").value
    status = ping(vault, current)
    assert status == 200


def test_the_lead_ends_the_grant_early_with_revoke(open_as, kvnb_env):
    vault, lead = kvnb_env, open_as("lead")
    access.grant(lead, TEAM, OFFICER, secret="APICaller", duration="1h")
    team = open_as("aad-team")
    new_key = secrets.token_urlsafe(32)
    result = rotate_secret("APICaller", new_key, target=team, reason="partner key reissued")
    assert result.verified
    assert fetch.fetch_secrets(["APICaller"], target=lead)[0].fingerprint == result.fingerprint

    revoked = access.revoke(lead, TEAM, OFFICER, secret="APICaller")
    assert len(revoked.removed) == 1
    assert refused_by_the_vault(vault)  # at once: no clock advance
    with pytest.raises(RotationRefused) as refused:
        rotate_secret("APICaller", secrets.token_urlsafe(32), target=team)
    assert "you hold no role there" in str(refused.value)
    status = ping(vault, vault.secret_client("member").get_secret("APICaller").value)  # outside: the key
    assert status == 200
