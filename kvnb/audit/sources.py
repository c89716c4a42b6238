"""The audit's control-plane and directory reads: vault resource, role assignments, principals.

Blocking calls through the official SDK (azure-mgmt-authorization) and azure-core pipelines; the
collector runs them in threads next to the async data-plane listing. A read the caller is not
allowed to make raises `Unavailable` with what to request, which becomes a *limitation*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azure.core import PipelineClient
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
from azure.core.rest import HttpRequest

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

VAULT_API = "2023-07-01"
DIAGNOSTICS_API = "2021-05-01-preview"
PRICING_API = "2024-01-01"


class Unavailable(Exception):
    """A read the caller may not make (or the endpoint does not offer): a limitation, not an error."""


def explain(exc: HttpResponseError, what: str, remedy: str) -> Unavailable:
    status = getattr(exc, "status_code", None)
    if status in (401, 403):
        return Unavailable(f"{what}: access denied ({status}). {remedy}")
    if status == 404:
        return Unavailable(f"{what}: the endpoint answered 404 (not offered here).")
    return Unavailable(f"{what}: the service answered {status}.")


class JsonClient:
    """JSON requests to ARM over azure-core's pipeline (bearer token, retries); the SDKs cover the rest."""

    def __init__(self, base_url: str, credential: Any, scope: str, connection_verify):
        self._client = PipelineClient(
            base_url=base_url,
            policies=[RetryPolicy(retry_total=3), BearerTokenCredentialPolicy(credential, scope)],
            connection_verify=connection_verify,
        )
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> dict:
        url = path if path.startswith("https://") else self.base_url + path
        response = self._client.send_request(HttpRequest(method, url, params=params, json=json))
        if response.status_code >= 400:
            raise HttpResponseError(response=response)
        return response.json() if response.content else {}

    def close(self) -> None:
        self._client.close()


@dataclass
class ControlPlane:
    """What ARM says about the vault: its resource, diagnostic settings and Defender pricing."""

    resource: dict
    audit_logging: bool | None
    defender: bool | None
    unavailable: dict[str, str]


def arm_client(target: VaultTarget) -> JsonClient:
    return JsonClient(target.arm_url, target.credential, target.arm_scope, target.connection_verify)


def require_resource_id(target: VaultTarget) -> str:
    if not target.resource_id:
        raise Unavailable(
            "The vault's ARM resource id is unknown (kvnb resolves it for local vaults only so "
            "far), so its configuration and role assignments cannot be read."
        )
    return target.resource_id


def read_vault(target: VaultTarget) -> ControlPlane:
    """The vault resource (V1–V5, R9), plus diagnostic settings (V6) and Defender pricing (V7)."""
    from .findings import DEFENDER, DIAGNOSTICS

    resource_id = require_resource_id(target)
    client = arm_client(target)
    unavailable: dict[str, str] = {}
    try:
        try:
            resource = client.request("GET", resource_id, params={"api-version": VAULT_API})
        except HttpResponseError as exc:
            raise explain(
                exc,
                "Vault properties",
                "Request Reader on the vault (Microsoft.KeyVault/vaults/read); "
                "soft delete and purge protection are still read from the secrets.",
            ) from None
        logging = defender = None
        try:
            settings = client.request(
                "GET",
                f"{resource_id}/providers/Microsoft.Insights/diagnosticSettings",
                params={"api-version": DIAGNOSTICS_API},
            ).get("value", [])
            logging = any(_logs_audit_events(s) for s in settings)
        except HttpResponseError as exc:
            unavailable[DIAGNOSTICS] = str(
                explain(exc, "Diagnostic settings", "Request Reader or Monitoring Reader on the vault.")
            )
        try:
            pricing = client.request(
                "GET",
                f"/subscriptions/{target.subscription_id}/providers/Microsoft.Security/pricings/KeyVaults",
                params={"api-version": PRICING_API},
            )
            defender = (pricing.get("properties") or {}).get("pricingTier") == "Standard"
        except HttpResponseError as exc:
            unavailable[DEFENDER] = str(
                explain(exc, "Defender for Cloud pricing", "Request Security Reader on the subscription.")
            )
    finally:
        client.close()
    return ControlPlane(resource, logging, defender, unavailable)


def _logs_audit_events(setting: dict) -> bool:
    for log in (setting.get("properties") or {}).get("logs") or []:
        if log.get("enabled") and (
            log.get("category") == "AuditEvent" or log.get("categoryGroup") in ("audit", "allLogs")
        ):
            return True
    return False


@dataclass
class Assignments:
    items: list[Any]  # SDK RoleAssignment models, each given an ``end_time``
    roles: dict[str, dict]  # role GUID -> {role_name, role_type, permissions}; missing: deleted role


def read_assignments(target: VaultTarget) -> Assignments:
    """Assignments at, above and below the vault (secret scope included), with their roles.

    Through kvnb.access: ``list_for_scope`` without a filter (at, above and below), end times from
    PIM schedule instances, definitions from its role catalogue.
    """
    from ..access.assignments import end_times, fetch_assignments
    from ..access.errors import AccessError
    from ..access.roles import role_catalogue, role_guid

    resource_id = require_resource_id(target)
    try:
        items = fetch_assignments(target, resource_id)
        catalogue = role_catalogue(target, resource_id)
        roles = {}
        for guid, definition_id in {role_guid(a.role_definition_id): a.role_definition_id for a in items}.items():
            info = catalogue.by_id(definition_id)
            if info is not None:  # None: a deleted role definition, which R5 reports
                roles[guid] = {
                    "role_name": info.name,
                    "role_type": info.role_type,
                    "permissions": [
                        {
                            "actions": info.actions,
                            "not_actions": info.not_actions,
                            "data_actions": info.data_actions,
                            "not_data_actions": info.not_data_actions,
                        }
                    ],
                }
    except AccessError as exc:
        raise Unavailable(f"Role assignments: {exc}") from None
    except HttpResponseError as exc:
        raise explain(exc, "Role assignments", "Request Key Vault Reader or Reader on the vault.") from None
    ends = end_times(target, resource_id)
    for item in items:
        item.end_time = ends.get(str(item.id).lower())
    return Assignments(items, roles)


@dataclass
class Directory:
    principals: dict[str, Any]  # object id -> kvnb.access.PrincipalInfo (found False: deleted)
    members: dict[str, list[str]]  # group id -> transitive member ids


def read_directory(target: VaultTarget, principal_ids: set[str], group_ids: set[str]) -> Directory:
    """Principals (getByIds, in batches of 1,000) and transitive members of the assigned groups."""
    from ..access.graph_principals import get_principals
    from ..governance.errors import GovernanceError
    from ..graph import GraphClient, GraphPermissionError

    client = GraphClient.from_target(target)
    try:
        members = {}
        for group in sorted(group_ids):
            found = client.list(f"/groups/{group}/transitiveMembers", top=999)
            members[group] = [str(m["id"]).lower() for m in found]
        wanted = set(principal_ids) | {m for ids in members.values() for m in ids}
        principals = get_principals(target, wanted, graph=client)
    except (GovernanceError, GraphPermissionError) as exc:
        raise Unavailable(f"Directory (names, guests, disabled accounts): {exc}") from None
    except ClientAuthenticationError as exc:
        raise Unavailable(f"Directory: no Graph token ({exc.message}).") from None
    except HttpResponseError as exc:
        raise explain(
            exc, "Directory", "Request Directory.Read.All (or User.Read.All and GroupMember.Read.All)."
        ) from None
    finally:
        client.close()
    return Directory(principals, members)
