"""The local ARM's plumbing, as clients see it: subscriptions, cloud metadata, the vault resource,
role definitions, and the 401/403/400 shapes ARM answers with."""

from __future__ import annotations

import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from armcalls import ARM_SCOPE, arm_client, arm_error, call, vault_id


# -- subscriptions and metadata -----------------------------------------------------------------------
@pytest.mark.parametrize("api_version", ["2022-12-01", "2016-06-01"])
def test_subscriptions_list_the_local_subscription_to_role_holders(local_vault, api_version):
    status, body, _ = call(local_vault, f"/subscriptions?api-version={api_version}")
    assert status == 200
    [subscription] = body["value"]
    assert subscription["subscriptionId"] == local_vault.store.subscription_id
    assert subscription["tenantId"] == local_vault.store.tenant_id
    assert (subscription["displayName"], subscription["state"]) == ("kvnb local", "Enabled")
    status, one, _ = call(local_vault, f"/subscriptions/{subscription['subscriptionId']}?api-version={api_version}")
    assert status == 200 and one == subscription


def test_subscriptions_are_empty_for_someone_without_any_role(local_vault):
    status, body, _ = call(local_vault, "/subscriptions?api-version=2022-12-01", persona="aad-team")
    assert (status, body["value"]) == (200, [])
    sub = local_vault.store.subscription_id
    assert call(local_vault, f"/subscriptions/{sub}?api-version=2022-12-01", persona="aad-team")[0] == 404


def test_cloud_metadata_has_what_az_cloud_register_reads(local_vault):
    for path in ("/metadata/endpoints?api-version=2022-09-01", "//metadata/endpoints?api-version=2022-09-01"):
        status, body, _ = call(local_vault, path, persona=None)
        assert status == 200
        assert body["resourceManager"] == local_vault.url + "/"
        assert body["authentication"]["audiences"][0] == "https://management.core.windows.net/"
        assert body["authentication"]["loginEndpoint"] and body["name"] and body["suffixes"] == {}


# -- authentication ---------------------------------------------------------------------------------
def test_missing_token_gets_arm_challenge_and_body(local_vault):
    status, body, headers = call(local_vault, "/subscriptions?api-version=2022-12-01", persona=None)
    assert status == 401
    assert body["error"]["code"] == "AuthenticationFailed"
    assert "'Authorization' header is missing" in body["error"]["message"]
    challenge = headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer authorization_uri="https://login.windows.net/{local_vault.store.tenant_id}"')
    assert 'error="invalid_token"' in challenge and "error_description=" in challenge


def test_tampered_and_wrong_audience_tokens_are_refused(local_vault):
    good = local_vault.credential("lead").get_token(ARM_SCOPE).token
    header, _payload, signature = good.split(".")
    claims = jwt.decode(good, options={"verify_signature": False})
    claims["oid"] = "00000000-0000-0000-0000-000000000000"
    forged = jwt.encode(claims, "a-key-that-is-not-the-vaults-signing-key", algorithm="HS256").split(".")[1]
    status, body, _ = call(local_vault, "/subscriptions?api-version=2022-12-01", token=f"{header}.{forged}.{signature}")
    assert (status, body["error"]["code"]) == (401, "InvalidAuthenticationToken")
    vault_token = local_vault.credential("lead").get_token("https://vault.azure.net/.default").token
    status, body, _ = call(local_vault, "/subscriptions?api-version=2022-12-01", token=vault_token)
    assert (status, body["error"]["code"]) == (401, "InvalidAuthenticationTokenAudience")
    assert "'https://vault.azure.net'" in body["error"]["message"]


def test_sdk_surfaces_401_as_client_authentication_error(local_vault):
    assert issubclass(ClientAuthenticationError, HttpResponseError)  # what callers catch
    client = arm_client(local_vault, credential_scopes=["https://vault.azure.net/.default"])
    status, code, _ = arm_error(lambda: list(client.role_definitions.list(vault_id(local_vault))))
    assert (status, code) == (401, "InvalidAuthenticationTokenAudience")


def test_api_version_is_required(local_vault):
    status, body, _ = call(local_vault, "/subscriptions")
    assert (status, body["error"]["code"]) == (400, "MissingApiVersionParameter")
    status, body, _ = call(local_vault, "/subscriptions?api-version=latest")
    assert (status, body["error"]["code"]) == (400, "InvalidApiVersionParameter")


# -- the vault resource -------------------------------------------------------------------------------
def test_vault_resource_for_a_caller_with_vaults_read(local_vault):
    scope = vault_id(local_vault)
    # The lead's Key Vault Administrator holds `Microsoft.KeyVault/vaults/*/read`, which covers vaults/read.
    status, body, _ = call(local_vault, scope + "?api-version=2023-07-01", persona="lead")
    assert status == 200
    assert (body["id"], body["name"], body["type"]) == (scope, "azDevOpsKV01", "Microsoft.KeyVault/vaults")
    props = body["properties"]
    assert props["enableRbacAuthorization"] is True
    assert (props["enableSoftDelete"], props["softDeleteRetentionInDays"]) == (True, 90)
    assert "enablePurgeProtection" not in props  # off: Azure leaves it out (null), never false
    assert props["vaultUri"] == local_vault.url + "/"
    assert props["publicNetworkAccess"] == "Enabled"
    assert props["networkAcls"]["defaultAction"] == "Allow"
    assert props["tenantId"] == local_vault.store.tenant_id


def test_vault_resource_needs_vaults_read_which_secrets_user_lacks(local_vault):
    scope = vault_id(local_vault)
    status, body, _ = call(local_vault, scope + "?api-version=2023-07-01", persona="pipeline")  # no actions at all
    assert (status, body["error"]["code"]) == (403, "AuthorizationFailed")
    assert "'Microsoft.KeyVault/vaults/read'" in body["error"]["message"]
    missing = scope.replace("azDevOpsKV01", "noSuchVault")
    assert call(local_vault, missing + "?api-version=2023-07-01")[1]["error"]["code"] == "ResourceNotFound"


# -- role definitions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("api_version", [None, "2022-05-01-preview"])
def test_role_definitions_list_and_filter(local_vault, api_version):
    kwargs = {"api_version": api_version} if api_version else {}
    client = arm_client(local_vault, **kwargs)
    scope = vault_id(local_vault)
    every = list(client.role_definitions.list(scope))
    assert {"Key Vault Secrets User", "Key Vault Administrator", "Owner"} <= {d.role_name for d in every}
    [user] = client.role_definitions.list(scope, filter="roleName eq 'Key Vault Secrets User'")
    assert user.name == "4633458b-17de-408a-b874-0445c86b69e6"
    assert (
        user.id == f"/subscriptions/{local_vault.store.subscription_id}/providers/Microsoft.Authorization/"
        "roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
    )
    assert user.permissions[0].data_actions == [
        "Microsoft.KeyVault/vaults/secrets/getSecret/action",
        "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
    ]
    builtin = list(client.role_definitions.list(scope, filter="type eq 'BuiltInRole'"))
    assert len(builtin) == len(every)
    assert list(client.role_definitions.list(scope, filter="type eq 'CustomRole'")) == []


def test_role_definition_get_and_get_by_id(local_vault):
    client = arm_client(local_vault)
    officer = client.role_definitions.get(vault_id(local_vault), "b86a8fe4-44ce-4948-aee5-eccb2c155cd7")
    assert officer.role_name == "Key Vault Secrets Officer"
    assert client.role_definitions.get_by_id(officer.id).role_name == officer.role_name
    rooted = client.role_definitions.get_by_id(
        "/providers/Microsoft.Authorization/roleDefinitions/b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
    )
    assert rooted.id.startswith("/providers/")
    status, code, _ = arm_error(
        client.role_definitions.get, vault_id(local_vault), "00000000-0000-0000-0000-000000000001"
    )
    assert (status, code) == (404, "RoleDefinitionDoesNotExist")


def test_unsupported_filters_and_scopes_are_400s_not_500s(local_vault):
    client = arm_client(local_vault)
    status, code, _ = arm_error(
        lambda: list(client.role_definitions.list(vault_id(local_vault), filter="startswith(roleName, 'Key')"))
    )
    assert (status, code) == (400, "InvalidFilterInQueryString")
    other_sub = "/subscriptions/11111111-1111-1111-1111-111111111111"
    assert arm_error(lambda: list(client.role_definitions.list(other_sub)))[:2] == (404, "SubscriptionNotFound")
    status, body, _ = call(
        local_vault,
        f"/subscriptions/{local_vault.store.subscription_id}/resourceGroups/nope"
        "/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01",
    )
    assert (status, body["error"]["code"]) == (404, "ResourceGroupNotFound")
