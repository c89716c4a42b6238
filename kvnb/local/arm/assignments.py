"""ARM role assignments (2022-04-01): list, get, create, delete, by scope and by id.

Scopes are the subscription, its resource groups, a vault and one secret of a vault. An assignment
outside its time window (a time-bound grant not yet started or already ended) is not listed, as
Azure removes an expired assignment; the data plane stops honouring it at the same vault-clock second.
Writes need ``Microsoft.Authorization/roleAssignments/write`` (or ``/delete``) at the scope, with the
assignment being made (or removed) as the conditions' ``@Request`` (``@Resource``) attributes, so a
Key Vault Data Access Administrator may hand out Key Vault roles only. A condition sent with an
assignment must parse (`checked_condition`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..identity import roles
from ..identity.conditions import ConditionError, parse_condition, role_assignment_attributes
from ..state import assignments
from ..state.assignments import RoleAssignmentRecord
from ..state.directory import Directory
from ..state.schedules import drop_expired, is_current
from .common import (
    ArmError,
    Scope,
    authenticate,
    guarded,
    is_at_or_above,
    is_guid,
    is_related,
    iso,
    json_body,
    listing,
    parse_filter,
    parse_scope,
    properties_of,
    require_api_version,
    require_permission,
    scope_key,
    text_property,
)
from .roles import role_definition_id

READ = "Microsoft.Authorization/roleAssignments/read"
WRITE = "Microsoft.Authorization/roleAssignments/write"
DELETE = "Microsoft.Authorization/roleAssignments/delete"
PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal", "ForeignGroup", "Device")
_TYPE = "Microsoft.Authorization/roleAssignments"


def assignment_id(scope: str, name: str) -> str:
    return f"{scope.rstrip('/')}/providers/{_TYPE}/{name}" if scope.strip("/") else f"/providers/{_TYPE}/{name}"


def assignment_body(service, record: RoleAssignmentRecord) -> dict:
    return {
        "properties": {
            "roleDefinitionId": role_definition_id(service.store.subscription_id, record.role_definition_id),
            "principalId": record.principal_id,
            "principalType": record.principal_type,
            "scope": record.scope,
            "condition": record.condition,
            "conditionVersion": record.condition_version,
            "createdOn": iso(record.created_on),
            "updatedOn": iso(record.updated_on),
            "createdBy": record.created_by,
            "updatedBy": record.updated_by,
            "delegatedManagedIdentityResourceId": None,
            "description": record.description,
        },
        "id": assignment_id(record.scope, record.name),
        "type": _TYPE,
        "name": record.name,
    }


def reach_of(store, principal_id: str) -> set[str]:
    """The principal and every group it is in, transitively: whose assignments apply to it."""
    return {principal_id.lower()} | Directory(store).transitive_groups(principal_id)


def current_assignments(store) -> list[RoleAssignmentRecord]:
    now = store.now()
    return [r for r in assignments.list_assignments(store) if is_current(r.start_time, r.end_time, now)]


def select(records, scope: str, list_filter) -> list:
    """Apply ARM's list semantics to anything with ``scope`` and ``principal_id``."""
    if list_filter.at_scope:
        records = [r for r in records if is_at_or_above(r.scope, scope)]
    else:  # with or without a principal filter, an unscoped list reaches at, above and below
        records = [r for r in records if is_related(r.scope, scope)]
    if list_filter.principal_id:
        records = [r for r in records if r.principal_id.lower() == list_filter.principal_id]
    return records


@guarded
async def list_role_assignments(request: Request) -> JSONResponse:
    require_api_version(request)
    caller = authenticate(request)
    scope = parse_scope(request, request.path_params.get("scope", ""))
    require_permission(request, caller, READ, scope.path)
    list_filter = parse_filter(request, frozenset({"atscope", "principal", "assigned"}))
    service = request.app.state.service
    records = select(current_assignments(service.store), scope.path, list_filter)
    if list_filter.assigned_to:
        reach = reach_of(service.store, list_filter.assigned_to)
        records = [r for r in records if r.principal_id.lower() in reach]
    return listing(records, lambda record: assignment_body(service, record))


def _find(request: Request, scope: Scope, name: str) -> RoleAssignmentRecord | None:
    record = assignments.get_assignment(request.app.state.service.store, name)
    store = request.app.state.service.store
    if record is None or scope_key(record.scope) != scope_key(scope.path):
        return None
    return record if is_current(record.start_time, record.end_time, store.now()) else None


@guarded
async def get_role_assignment(request: Request) -> JSONResponse:
    require_api_version(request)
    caller = authenticate(request)
    scope = parse_scope(request, request.path_params.get("scope", ""))
    name = request.path_params["name"]
    require_permission(request, caller, READ, assignment_id(scope.path, name))
    record = _find(request, scope, name)
    if record is None:
        raise ArmError(404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")
    return JSONResponse(assignment_body(request.app.state.service, record))


def principal_type_for(store, principal_id: str, stated: str | None) -> str:
    """The directory's type for the principal; 400 when it is unknown or contradicts *stated*."""
    if not is_guid(principal_id):
        raise ArmError(400, "InvalidPrincipalId", f"The principal ID '{principal_id}' is not valid. It must be a GUID.")
    if stated is not None and stated not in PRINCIPAL_TYPES:
        raise ArmError(
            400,
            "InvalidRequestContent",
            f"The principalType '{stated}' is not valid. Use one of: {', '.join(PRINCIPAL_TYPES)}.",
        )
    row = store.db.execute("SELECT kind FROM principals WHERE id = ?", (principal_id.lower(),)).fetchone()
    if row is None:
        raise ArmError(
            400,
            "PrincipalNotFound",
            f"Principal {principal_id.replace('-', '')} does not exist in the "
            f"directory {store.tenant_id}. Check that you have the correct principal ID.",
        )
    if stated is not None and stated != row["kind"]:
        raise ArmError(
            400,
            "UnmatchedPrincipalType",
            f"The PrincipalId '{principal_id.replace('-', '')}' has type "
            f"'{row['kind']}' , which is different from specified PrincipalType '{stated}'.",
        )
    return row["kind"]


def write_attributes(
    store, role_text: str, principal_id: str, stated_type: str | None = None, *, source: str = "Request"
) -> dict:
    """The attributes of an assignment being made (``@Request``) or removed (``@Resource``), as the
    caller's conditions read them."""
    row = store.db.execute("SELECT kind FROM principals WHERE id = ?", (principal_id.lower(),)).fetchone()
    return role_assignment_attributes(
        source, roles.role_guid(role_text), principal_id, row["kind"] if row else stated_type
    )


def removal_attributes(record) -> dict:
    """The ``@Resource`` attributes of an assignment (or schedule request) being removed."""
    return role_assignment_attributes("Resource", record.role_definition_id, record.principal_id, record.principal_type)


def checked_condition(props: dict) -> tuple[str | None, str | None]:
    """The condition and conditionVersion sent with an assignment; 400 when the condition is not one.

    ARM refuses an unreadable condition, or a version other than 2.0, with this code and message (the
    message is the one Azure's troubleshooting guide quotes, MicrosoftDocs/azure-docs
    ``conditions-troubleshoot.md``; the code is as public captures show it, not a recorded exchange).
    """
    condition, version = text_property(props, "condition"), text_property(props, "conditionVersion")
    if condition is None:
        return None, version
    try:
        parse_condition(condition)
    except ConditionError:
        invalid = True
    else:
        invalid = version not in (None, "2.0")
    if invalid:
        raise ArmError(400, "InvalidRoleAssignmentCondition", "The given role assignment condition is invalid.")
    return condition, version or "2.0"


def known_role_guid(value: str | None) -> str:
    guid = roles.role_guid(value or "")
    if not is_guid(guid):
        raise ArmError(400, "InvalidRoleDefinitionId", f"The role definition ID '{value}' is not valid.")
    if roles.role_by_id(guid) is None:
        raise ArmError(
            400, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{guid}' does not exist."
        )
    return guid


@guarded
async def create_role_assignment(request: Request) -> JSONResponse:
    require_api_version(request)
    caller = authenticate(request)
    scope = parse_scope(request, request.path_params.get("scope", ""))
    name = request.path_params["name"]
    if not is_guid(name):
        raise ArmError(
            400,
            "InvalidRoleAssignmentId",
            f"The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID.",
        )
    if scope.kind == "root":
        raise ArmError(400, "InvalidScope", "Role assignments at the root scope are not supported by the local vault.")
    props = properties_of(await json_body(request))
    role_text = text_property(props, "roleDefinitionId", required=True)
    principal_id = text_property(props, "principalId", required=True).lower()
    store = request.app.state.service.store
    stated_type = text_property(props, "principalType")
    require_permission(
        request,
        caller,
        WRITE,
        assignment_id(scope.path, name),
        write_attributes(store, role_text, principal_id, stated_type),
    )
    guid = known_role_guid(role_text)
    principal_type = principal_type_for(store, principal_id, stated_type)
    condition, condition_version = checked_condition(props)
    existing = assignments.get_assignment(store, name)
    if existing is not None:
        same = (
            scope_key(existing.scope) == scope_key(scope.path)
            and existing.principal_id == principal_id
            and existing.role_definition_id == guid
        )
        if not same:
            raise ArmError(
                409,
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            )
        return JSONResponse(assignment_body(request.app.state.service, existing), status_code=200)
    drop_expired(store, principal_id, guid, scope.path)
    try:
        record = assignments.create_assignment(
            store,
            scope.path,
            guid,
            principal_id,
            principal_type,
            created_by=caller.oid,
            name=name,
            description=text_property(props, "description"),
            condition=condition,
            condition_version=condition_version,
        )
    except assignments.AssignmentExists:
        raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.") from None
    return JSONResponse(assignment_body(request.app.state.service, record), status_code=201)


@guarded
async def delete_role_assignment(request: Request) -> Response:
    require_api_version(request)
    caller = authenticate(request)
    scope = parse_scope(request, request.path_params.get("scope", ""))
    name = request.path_params["name"]
    record = _find(request, scope, name)
    if record is None:
        # Nothing to delete: answer 204 to whoever may look (the delete condition needs an existing role).
        require_permission(request, caller, READ, assignment_id(scope.path, name))
        return Response(status_code=204)
    require_permission(request, caller, DELETE, assignment_id(scope.path, name), removal_attributes(record))
    assignments.delete_assignment(request.app.state.service.store, name)
    return JSONResponse(assignment_body(request.app.state.service, record), status_code=200)


_BASE = "/providers/Microsoft.Authorization/roleAssignments"
routes = [
    Route(_BASE, list_role_assignments, methods=["GET"]),
    Route("/{scope:path}" + _BASE, list_role_assignments, methods=["GET"]),
    Route("/{scope:path}" + _BASE + "/{name}", get_role_assignment, methods=["GET"]),
    Route("/{scope:path}" + _BASE + "/{name}", create_role_assignment, methods=["PUT"]),
    Route("/{scope:path}" + _BASE + "/{name}", delete_role_assignment, methods=["DELETE"]),
]
