"""The seed's third scenario, and the access layer's verdicts checked against the data plane itself.

The lead gives the "AzureAD team" a one-hour Key Vault Secrets Officer grant on APICaller only; the team
rotates the key, cannot touch anything else, and loses the grant on time while the lead keeps writing.
Then, for every seed identity and every secret operation, what `effective_access` predicts must be
exactly what the vault answers, before, during and after such a grant.
"""

from __future__ import annotations

import base64
import gc
import secrets

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

import kvnb.access as access

IDENTITIES = ("lead", "backup", "member", "newmember", "aad-team", "contractor", "leaver", "shortcut", "pipeline")
PROBE = "kvnb-probe-never-created"  # destructive operations are tried on a name that does not exist


def forbidden(operation, *args, **kwargs) -> bool:
    """Whether the vault refused with 403; any other answer (200, 404, 400) means authorization passed."""
    try:
        result = operation(*args, **kwargs)
        if hasattr(result, "__next__") or hasattr(result, "by_page"):
            next(iter(result), None)  # list operations page lazily: ask for the first page
    except HttpResponseError as exc:
        return exc.status_code == 403
    return False


def data_plane_answers(client) -> dict[str, bool]:
    """operation → allowed, by really calling the vault (on APICaller, or PROBE for destructive ones)."""
    junk_backup = base64.urlsafe_b64encode(secrets.token_bytes(48))
    answers = {
        "get": lambda: client.get_secret("APICaller"),
        "list": lambda: client.list_properties_of_secrets(),
        "list_versions": lambda: client.list_properties_of_secret_versions("APICaller"),
        "set": lambda: client.set_secret("APICaller", secrets.token_urlsafe(24)),
        "update": lambda: client.update_secret_properties("APICaller", enabled=True),
        "delete": lambda: client.begin_delete_secret(PROBE),
        "get_deleted": lambda: client.get_deleted_secret(PROBE),
        "list_deleted": lambda: client.list_deleted_secrets(),
        "recover": lambda: client.begin_recover_deleted_secret(PROBE),
        "purge": lambda: client.purge_deleted_secret(PROBE),
        "backup": lambda: client.backup_secret("APICaller"),
        "restore": lambda: client.restore_secret_backup(junk_backup),
    }
    return {operation: not forbidden(call) for operation, call in answers.items()}


def setting_is_forbidden(client, name: str) -> bool:
    """Whether setting *name* to a new random value is refused with 403. The value is made in here,
    so a failing ``assert setting_is_forbidden(...)`` cannot show it among the call's arguments."""
    return forbidden(client.set_secret, name, secrets.token_urlsafe(24))


def predicted(target, principal: str | None) -> dict[str, bool]:
    """The access layer's verdicts, on the names `data_plane_answers` uses."""
    on_key = access.effective_access(target, principal, secret="APICaller")
    on_probe = access.effective_access(target, principal, secret=PROBE)
    destructive = {"delete", "get_deleted", "recover", "purge"}
    return {op: (on_probe if op in destructive else on_key).allows(op) for op in access.SECRET_OPERATIONS}


def test_azuread_team_rotates_apicaller_for_one_hour(open_as, local_vault):
    lead = open_as("lead")
    team = local_vault.secret_client("aad-team")
    assert setting_is_forbidden(team, "APICaller")

    granted = access.grant(lead, "AzureAD team", "Key Vault Secrets Officer", secret="APICaller", duration="1h")
    assert granted.created and granted.end_time is not None
    seen = access.effective_access(lead, "aad-team", secret="APICaller")
    [role] = seen.roles
    assert role.how.startswith("through group AzureAD team, on secret APICaller only, until ")
    assert seen.allows("set") and not seen.allows("list")

    new_version = team.set_secret("APICaller", secrets.token_urlsafe(32)).properties.version
    assert lead.secret_client.get_secret("APICaller").properties.version == new_version
    for other in ("WebhookSigningKey", "DbConnectionString"):
        assert setting_is_forbidden(team, other)
        assert forbidden(team.get_secret, other)
    assert forbidden(team.list_properties_of_secrets)

    local_vault.admin("clock", {"advance_seconds": 61 * 60})
    assert setting_is_forbidden(team, "APICaller")
    made = lead.secret_client.set_secret("APICaller", secrets.token_urlsafe(32))  # outside the assert: its value
    assert made.properties.version
    after = access.effective_access(lead, "aad-team", secret="APICaller")
    assert after.roles == () and not any(after.operations.values())
    gc.collect()


@pytest.mark.slow
def test_verdicts_equal_the_data_planes_answers_for_every_identity(open_as, local_vault):
    lead = open_as("lead")
    clients = {name: local_vault.secret_client(name) for name in IDENTITIES if name != "leaver"}
    with pytest.raises(ClientAuthenticationError):  # a disabled account cannot even get a token
        local_vault.credential("leaver").get_token("https://vault.azure.net/.default")
    as_themselves = {name: open_as(name) for name in clients}

    def check(phase: str, *, ask_themselves: bool = False) -> None:
        for name in IDENTITIES:
            verdict = predicted(lead, name)
            if name == "leaver":
                assert not any(verdict.values()), phase
                continue
            assert verdict == data_plane_answers(clients[name]), (phase, name)
            if ask_themselves:  # each identity asking about itself, from its own token, agrees
                assert predicted(as_themselves[name], None) == verdict, (phase, name, "as me")

    check("seed")
    access.grant(lead, "AzureAD team", "Key Vault Secrets Officer", secret="APICaller", duration="1h")
    access.grant(lead, "newmember", "Key Vault Secrets User", duration="1h")
    check("during time-bound grants", ask_themselves=True)
    local_vault.admin("clock", {"advance_seconds": 61 * 60})
    check("after they ended")
    gc.collect()  # refused calls keep their connection in the exception's traceback until collected
