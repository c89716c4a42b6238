"""Built-in Azure role definitions the local vault knows, as Azure publishes them.

Copied from the built-in roles reference (``built-in-roles/security.md`` and ``privileged.md`` of
MicrosoftDocs/azure-docs): the real GUIDs, names, descriptions and permission lists, so that what
`AuthorizationManagementClient.role_definitions` returns locally matches Azure and a role granted by
GUID means the same thing on both; plus the dataAction each secrets operation needs (reference B.1).
Evaluation lives in `rbac`; this module is data.
"""

from __future__ import annotations

from dataclasses import dataclass

# Re-exported: the operation → dataAction table and the vault-level operations (kvnb.permissions).
from ...permissions import SECRET_DATA_ACTIONS, VAULT_LEVEL_OPERATIONS  # noqa: F401

ROLE_DEFINITION_PREFIX = "/providers/Microsoft.Authorization/roleDefinitions/"


@dataclass(frozen=True)
class RoleDefinition:
    """One role definition: a single permission block, as every built-in role has."""

    id: str  # the GUID, which ARM also calls the role definition's ``name``
    role_name: str
    description: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()
    condition: str | None = None
    condition_version: str | None = None
    assignable_scopes: tuple[str, ...] = ("/",)
    role_type: str = "BuiltInRole"

    def resource_id(self, subscription_id: str | None = None) -> str:
        """The role definition id; ARM usually returns it under the subscription."""
        prefix = f"/subscriptions/{subscription_id}" if subscription_id else ""
        return f"{prefix}{ROLE_DEFINITION_PREFIX}{self.id}"

    def permissions(self) -> list[dict]:
        """The ``permissions`` array of the ARM body."""
        block: dict = {
            "actions": list(self.actions),
            "notActions": list(self.not_actions),
            "dataActions": list(self.data_actions),
            "notDataActions": list(self.not_data_actions),
        }
        if self.condition:
            block["conditionVersion"] = self.condition_version
            block["condition"] = self.condition
        return [block]


# The control-plane actions every Key Vault "officer" and "administrator" role shares.
_KV_STANDARD_ACTIONS = (
    "Microsoft.Authorization/*/read",
    "Microsoft.Insights/alertRules/*",
    "Microsoft.Resources/deployments/*",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.Support/*",
    "Microsoft.KeyVault/checkNameAvailability/read",
    "Microsoft.KeyVault/deletedVaults/read",
    "Microsoft.KeyVault/locations/*/read",
    "Microsoft.KeyVault/vaults/*/read",
    "Microsoft.KeyVault/operations/read",
)
_RBAC_ONLY = " Only works for key vaults that use the 'Azure role-based access control' permission model."

KEY_VAULT_ADMINISTRATOR = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
KEY_VAULT_CERTIFICATES_OFFICER = "a4417e6f-fecd-4de8-b567-7b0420556985"
KEY_VAULT_CERTIFICATE_USER = "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba"
KEY_VAULT_CONTRIBUTOR = "f25e0fa2-a7c8-4377-a976-54943a77a395"
KEY_VAULT_CRYPTO_OFFICER = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
KEY_VAULT_CRYPTO_SERVICE_RELEASE_USER = "08bbd89e-9f13-488c-ac41-acfcb10c90ab"
KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
KEY_VAULT_DATA_ACCESS_ADMINISTRATOR = "8b54135c-b56d-4d72-a534-26097cfdc8d8"
KEY_VAULT_READER = "21090545-7ca7-4776-b22c-e363652d74d2"
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"

# The roles a Key Vault Data Access Administrator may assign and remove, in Azure's order.
DATA_ACCESS_ADMINISTRATOR_ASSIGNABLE = (
    KEY_VAULT_ADMINISTRATOR,
    KEY_VAULT_CERTIFICATES_OFFICER,
    KEY_VAULT_CRYPTO_OFFICER,
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
    KEY_VAULT_CRYPTO_USER,
    KEY_VAULT_READER,
    KEY_VAULT_SECRETS_OFFICER,
    KEY_VAULT_SECRETS_USER,
)
_GUID_SET = "{" + ", ".join(DATA_ACCESS_ADMINISTRATOR_ASSIGNABLE) + "}"
# Azure's text, byte for byte: write checks the requested role, delete the existing assignment's.
DATA_ACCESS_ADMINISTRATOR_CONDITION = (
    "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR "
    f"(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{_GUID_SET})) "
    "AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR "
    f"(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{_GUID_SET}))"
)

BUILT_IN_ROLES: tuple[RoleDefinition, ...] = (
    RoleDefinition(
        KEY_VAULT_ADMINISTRATOR,
        "Key Vault Administrator",
        "Perform all data plane operations on a key vault and all objects in it, including certificates, "
        "keys, and secrets. Cannot manage key vault resources or manage role assignments." + _RBAC_ONLY,
        actions=_KV_STANDARD_ACTIONS,
        data_actions=("Microsoft.KeyVault/vaults/*",),
    ),
    RoleDefinition(
        KEY_VAULT_CERTIFICATE_USER,
        "Key Vault Certificate User",
        "Read certificate contents." + _RBAC_ONLY,
        data_actions=(
            "Microsoft.KeyVault/vaults/certificates/read",
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            "Microsoft.KeyVault/vaults/keys/read",
        ),
    ),
    RoleDefinition(
        KEY_VAULT_CERTIFICATES_OFFICER,
        "Key Vault Certificates Officer",
        "Perform any action on the certificates of a key vault, except manage permissions." + _RBAC_ONLY,
        actions=_KV_STANDARD_ACTIONS,
        data_actions=(
            "Microsoft.KeyVault/vaults/certificatecas/*",
            "Microsoft.KeyVault/vaults/certificates/*",
            "Microsoft.KeyVault/vaults/certificatecontacts/write",
        ),
    ),
    RoleDefinition(
        KEY_VAULT_CONTRIBUTOR,
        "Key Vault Contributor",
        "Lets you manage key vaults, but not access to them.",
        actions=(
            "Microsoft.Authorization/*/read",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.KeyVault/*",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
        ),
        not_actions=(
            "Microsoft.KeyVault/locations/deletedVaults/purge/action",
            "Microsoft.KeyVault/hsmPools/*",
            "Microsoft.KeyVault/managedHsms/*",
        ),
    ),
    RoleDefinition(
        KEY_VAULT_CRYPTO_OFFICER,
        "Key Vault Crypto Officer",
        "Perform any action on the keys of a key vault, except manage permissions." + _RBAC_ONLY,
        actions=_KV_STANDARD_ACTIONS,
        data_actions=("Microsoft.KeyVault/vaults/keys/*", "Microsoft.KeyVault/vaults/keyrotationpolicies/*"),
    ),
    RoleDefinition(
        KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
        "Key Vault Crypto Service Encryption User",
        "Read metadata of keys and perform wrap/unwrap operations." + _RBAC_ONLY,
        actions=(
            "Microsoft.EventGrid/eventSubscriptions/write",
            "Microsoft.EventGrid/eventSubscriptions/read",
            "Microsoft.EventGrid/eventSubscriptions/delete",
        ),
        data_actions=(
            "Microsoft.KeyVault/vaults/keys/read",
            "Microsoft.KeyVault/vaults/keys/wrap/action",
            "Microsoft.KeyVault/vaults/keys/unwrap/action",
        ),
    ),
    RoleDefinition(
        KEY_VAULT_CRYPTO_SERVICE_RELEASE_USER,
        "Key Vault Crypto Service Release User",
        "Release keys." + _RBAC_ONLY,
        data_actions=("Microsoft.KeyVault/vaults/keys/release/action",),
    ),
    RoleDefinition(
        KEY_VAULT_CRYPTO_USER,
        "Key Vault Crypto User",
        "Perform cryptographic operations using keys." + _RBAC_ONLY,
        data_actions=tuple(
            f"Microsoft.KeyVault/vaults/keys/{op}"
            for op in (
                "read",
                "update/action",
                "backup/action",
                "encrypt/action",
                "decrypt/action",
                "wrap/action",
                "unwrap/action",
                "sign/action",
                "verify/action",
            )
        ),
    ),
    RoleDefinition(
        KEY_VAULT_DATA_ACCESS_ADMINISTRATOR,
        "Key Vault Data Access Administrator",
        "Manage access to Azure Key Vault by adding or removing role assignments for the Key Vault "
        "Administrator, Key Vault Certificates Officer, Key Vault Crypto Officer, Key Vault Crypto Service "
        "Encryption User, Key Vault Crypto User, Key Vault Reader, Key Vault Secrets Officer, or Key Vault "
        "Secrets User roles. Includes an ABAC condition to constrain role assignments.",
        actions=(
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Authorization/roleAssignments/delete",
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Resources/subscriptions/read",
            "Microsoft.Management/managementGroups/read",
            "Microsoft.Resources/deployments/*",  # listed twice by Azure too
            "Microsoft.Support/*",
            "Microsoft.KeyVault/vaults/*/read",
        ),
        condition=DATA_ACCESS_ADMINISTRATOR_CONDITION,
        condition_version="2.0",
    ),
    RoleDefinition(
        KEY_VAULT_READER,
        "Key Vault Reader",
        "Read metadata of key vaults and its certificates, keys, and secrets. Cannot read sensitive values "
        "such as secret contents or key material." + _RBAC_ONLY,
        actions=_KV_STANDARD_ACTIONS,
        data_actions=("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"),
    ),
    RoleDefinition(
        KEY_VAULT_SECRETS_OFFICER,
        "Key Vault Secrets Officer",
        "Perform any action on the secrets of a key vault, except manage permissions." + _RBAC_ONLY,
        actions=_KV_STANDARD_ACTIONS,
        data_actions=("Microsoft.KeyVault/vaults/secrets/*",),
    ),
    RoleDefinition(
        KEY_VAULT_SECRETS_USER,
        "Key Vault Secrets User",
        "Read secret contents." + _RBAC_ONLY,
        data_actions=(
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ),
    ),
    RoleDefinition(
        OWNER,
        "Owner",
        "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
        actions=("*",),
    ),
    RoleDefinition(
        CONTRIBUTOR,
        "Contributor",
        "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, "
        "manage assignments in Azure Blueprints, or share image galleries.",
        actions=("*",),
        not_actions=(
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action",
            "Microsoft.Subscription/enable/action",
        ),
    ),
    RoleDefinition(
        READER,
        "Reader",
        "View all resources, but does not allow you to make any changes.",
        actions=("*/read",),
    ),
    RoleDefinition(
        USER_ACCESS_ADMINISTRATOR,
        "User Access Administrator",
        "Lets you manage user access to Azure resources.",
        actions=("*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"),
    ),
)


_BY_ID = {role.id: role for role in BUILT_IN_ROLES}
_BY_NAME = {role.role_name.casefold(): role for role in BUILT_IN_ROLES}


def role_guid(guid_or_id: str) -> str:
    """The GUID of a role given as GUID, ``/providers/…/roleDefinitions/{guid}`` or the subscription form."""
    return guid_or_id.strip().rstrip("/").rsplit("/", 1)[-1].lower()


def role_by_id(guid_or_id: str) -> RoleDefinition | None:
    """The built-in role with this GUID or role definition id, or None."""
    return _BY_ID.get(role_guid(guid_or_id))


def role_by_name(name: str) -> RoleDefinition | None:
    """The built-in role with this ``roleName`` (case-insensitive), or None."""
    return _BY_NAME.get(name.strip().casefold())
