"""ARM role definitions (2022-04-01 and the Azure CLI's 2022-05-01-preview): list and get.

Every built-in role is assignable at ``/``, so every scope lists all of them. Ids come back under the
subscription, as ARM returns them, and role assignments name their role with the same string: the
Azure CLI joins the two lists on that id to print role names.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..identity import roles
from .common import ArmError, authenticate, guarded, parse_scope, require_api_version

_FILTER = re.compile(r"^\s*(roleName|type)\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)


def role_definition_id(subscription_id: str, guid: str) -> str:
    """The subscription-scoped id ARM puts in role assignments (also for a role this vault does not know)."""
    return f"/subscriptions/{subscription_id}{roles.ROLE_DEFINITION_PREFIX}{guid.lower()}"


def role_definition_body(service, role: roles.RoleDefinition, *, root: bool = False) -> dict:
    return {
        "properties": {
            "roleName": role.role_name,
            "type": role.role_type,
            "description": role.description,
            "assignableScopes": list(role.assignable_scopes),
            "permissions": role.permissions(),
            "createdOn": None,
            "updatedOn": None,
            "createdBy": None,
            "updatedBy": None,
        },
        "id": role.resource_id(None if root else service.store.subscription_id),
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": role.id,
    }


def _matching(request: Request) -> list[roles.RoleDefinition]:
    text = request.query_params.get("$filter", "").strip()
    if not text:
        return list(roles.BUILT_IN_ROLES)
    match = _FILTER.match(text)
    if not match:
        raise ArmError(
            400,
            "InvalidFilterInQueryString",
            f"The filter '{text}' is not supported. Use roleName eq '{{name}}' or type eq '{{type}}'.",
        )
    field, value = match[1].lower(), match[2].casefold()
    if field == "rolename":
        return [role for role in roles.BUILT_IN_ROLES if role.role_name.casefold() == value]
    return [role for role in roles.BUILT_IN_ROLES if role.role_type.casefold() == value]


@guarded
async def list_role_definitions(request: Request) -> JSONResponse:
    require_api_version(request)
    authenticate(request)  # built-in definitions are public: any signed-in caller of the tenant may read them
    scope = parse_scope(request, request.path_params.get("scope", ""))
    root = scope.kind == "root"
    service = request.app.state.service
    return JSONResponse({"value": [role_definition_body(service, role, root=root) for role in _matching(request)]})


@guarded
async def get_role_definition(request: Request) -> JSONResponse:
    require_api_version(request)
    authenticate(request)
    scope = parse_scope(request, request.path_params.get("scope", ""))
    name = request.path_params["name"]
    role = roles.role_by_id(name)
    if role is None:
        raise ArmError(
            404, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{name}' does not exist."
        )
    return JSONResponse(role_definition_body(request.app.state.service, role, root=scope.kind == "root"))


_BASE = "/providers/Microsoft.Authorization/roleDefinitions"
routes = [
    Route(_BASE, list_role_definitions, methods=["GET"]),
    Route(_BASE + "/{name}", get_role_definition, methods=["GET"]),
    Route("/{scope:path}" + _BASE, list_role_definitions, methods=["GET"]),
    Route("/{scope:path}" + _BASE + "/{name}", get_role_definition, methods=["GET"]),
]
