"""The local vault's Azure Resource Manager subset, served on every vault port (``arm_url``).

* ``GET /subscriptions`` and ``/subscriptions/{id}``: the local subscription, for callers holding any
  role in it (``az login --identity`` lists these, api-version 2022-12-01).
* ``GET /metadata/endpoints``: the cloud document ``az cloud register`` reads (api-version 2022-09-01).
* ``GET …/providers/Microsoft.KeyVault/vaults/{name}``: the vault resource, for ``vaults/read`` holders.
* Role definitions (`roles`), role assignments (`assignments`) and time-bound assignments
  through schedule requests (`schedules`).
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import assignments, roles, schedules
from .assignments import current_assignments, reach_of
from .common import ArmError, authenticate, guarded, require_api_version, require_permission, vault_in_group

SUBSCRIPTION_NAME = "kvnb local"
VAULT_READ = "Microsoft.KeyVault/vaults/read"


# -- subscriptions ----------------------------------------------------------------------------------
def _subscription_body(store) -> dict:
    subscription = store.subscription_id
    return {
        "id": f"/subscriptions/{subscription}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": subscription,
        "tenantId": store.tenant_id,
        "displayName": SUBSCRIPTION_NAME,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }


def _sees_subscription(store, caller) -> bool:
    # As on Azure, a subscription is listed to whoever holds a role anywhere in it.
    reach = reach_of(store, caller.oid)
    prefix = f"/subscriptions/{store.subscription_id}".lower()
    return any(
        r.principal_id.lower() in reach and (r.scope.lower() + "/").startswith(prefix + "/")
        for r in current_assignments(store)
    )


@guarded
async def list_subscriptions(request: Request) -> JSONResponse:
    require_api_version(request)
    caller = authenticate(request)
    store = request.app.state.service.store
    value = [_subscription_body(store)] if _sees_subscription(store, caller) else []
    return JSONResponse({"value": value, "count": {"type": "Total", "value": len(value)}})


@guarded
async def get_subscription(request: Request) -> JSONResponse:
    require_api_version(request)
    caller = authenticate(request)
    store = request.app.state.service.store
    requested = request.path_params["subscription"]
    if requested.lower() != store.subscription_id.lower() or not _sees_subscription(store, caller):
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{requested}' could not be found.")
    return JSONResponse(_subscription_body(store))


# -- cloud metadata ---------------------------------------------------------------------------------
async def metadata_endpoints(request: Request) -> JSONResponse:
    """The 2022-09-01 document; the Key Vault DNS suffix is left out on purpose.

    The CLI prefixes the suffix with a dot, and a local vault's "suffix" is ``:PORT``: pass
    ``--suffix-keyvault-dns ":PORT"`` to ``az cloud register`` instead.
    """
    base = request.app.state.service.base_url(request)
    return JSONResponse(
        {
            "name": "KvnbLocal",
            "portal": base,
            "gallery": base + "/",
            "graph": base + "/",
            "graphAudience": base + "/",
            "microsoftGraphResourceId": base + "/",
            "resourceManager": base + "/",
            "authentication": {
                "loginEndpoint": base,
                "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
                "tenant": request.app.state.service.store.tenant_id,
                "identityProvider": "AAD",
            },
            "suffixes": {},
        }
    )


# -- the vault resource -----------------------------------------------------------------------------
def _vault_uri(service, name: str) -> str | None:
    port = next((p for p, n in service.ports.items() if n.lower() == name.lower()), None)
    return f"https://127.0.0.1:{port}/" if port else None


def vault_body(service, row) -> dict:
    properties = {
        "sku": {"family": "A", "name": "standard"},
        "tenantId": service.store.tenant_id,
        "accessPolicies": [],
        "enabledForDeployment": False,
        "enabledForDiskEncryption": False,
        "enabledForTemplateDeployment": False,
        "enableSoftDelete": bool(row["enable_soft_delete"]),
        "softDeleteRetentionInDays": row["soft_delete_days"],
        "enableRbacAuthorization": bool(row["enable_rbac"]),
        "vaultUri": _vault_uri(service, row["name"]),
        "provisioningState": "Succeeded",
        "publicNetworkAccess": row["public_network_access"],
        "networkAcls": {
            "bypass": "AzureServices",
            "defaultAction": row["network_default_action"],
            "ipRules": [],
            "virtualNetworkRules": [],
        },
    }
    if row["purge_protection"]:  # Azure leaves the property out (null) until it is switched on, for good
        properties["enablePurgeProtection"] = True
    return {
        "id": service.resource_id(row["name"]),
        "name": row["name"],
        "type": "Microsoft.KeyVault/vaults",
        "location": row["location"],
        "tags": {},
        "properties": properties,
    }


@guarded
async def get_vault(request: Request) -> JSONResponse:
    require_api_version(request)
    caller = authenticate(request)
    service = request.app.state.service
    params = request.path_params
    if params["subscription"].lower() != service.store.subscription_id.lower():
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{params['subscription']}' could not be found.")
    if params["groups"].lower() != "resourcegroups":
        raise ArmError(404, "ResourceNotFound", "Expected /resourceGroups/NAME in the vault's resource id.")
    row = vault_in_group(service, params["vault"], params["group"])
    require_permission(request, caller, VAULT_READ, service.resource_id(row["name"]))
    return JSONResponse(vault_body(service, row))


_FILTER_TERM = re.compile(r"(resourceType|name)\s+eq\s+'([^']*)'", re.IGNORECASE)


@guarded
async def list_resources(request: Request) -> JSONResponse:
    """``GET /subscriptions/{id}/resources``: the vaults the caller may read, with ARM's
    ``$filter`` on ``resourceType eq`` and ``name eq`` (how kvnb finds a vault's resource id)."""
    require_api_version(request)
    caller = authenticate(request)
    service = request.app.state.service
    if request.path_params["subscription"].lower() != service.store.subscription_id.lower():
        raise ArmError(
            404, "SubscriptionNotFound", f"The subscription '{request.path_params['subscription']}' could not be found."
        )
    terms = {key.lower(): value.lower() for key, value in _FILTER_TERM.findall(request.query_params.get("$filter", ""))}
    if terms.get("resourcetype", "microsoft.keyvault/vaults") != "microsoft.keyvault/vaults":
        return JSONResponse({"value": []})
    value = []
    for row in service.store.db.execute("SELECT * FROM vaults ORDER BY position"):
        if "name" in terms and row["name"].lower() != terms["name"]:
            continue
        resource = service.resource_id(row["name"])
        if service.authorizer.check(caller.oid, VAULT_READ, resource, data_action=False).allowed:
            body = vault_body(service, row)
            value.append({k: body[k] for k in ("id", "name", "type", "location", "tags")})
    return JSONResponse({"value": value})


routes = [
    Route("/subscriptions", list_subscriptions, methods=["GET"]),
    Route("/subscriptions/{subscription}/resources", list_resources, methods=["GET"]),
    Route("/subscriptions/{subscription}", get_subscription, methods=["GET"]),
    # `az cloud register` appends the path to the ARM URL as given, trailing slash and all.
    Route("/metadata/endpoints", metadata_endpoints, methods=["GET"]),
    Route("//metadata/endpoints", metadata_endpoints, methods=["GET"]),
    Route(
        "/subscriptions/{subscription}/{groups}/{group}/providers/Microsoft.KeyVault/vaults/{vault}",
        get_vault,
        methods=["GET"],
    ),
    *roles.routes,
    *assignments.routes,
    *schedules.routes,
]
