"""ARM role assignment schedule requests, schedules and schedule instances (2020-10-01).

``AdminAssign`` (expiration ``AfterDuration``, ``AfterDateTime`` or ``NoExpiration``) and
``AdminRemove``; create answers 201 only, as the SDK requires. Times are on the vault clock: a request
without ``startDateTime`` starts at the vault's now. Creating needs what a role assignment write (or,
to remove, a delete) needs at the scope [assumption: Azure's PIM may check its own
``roleAssignmentScheduleRequests/write`` action as well]. Anyone may list their own objects with
``asTarget()`` / ``asRequestor()``; other lists need the matching ``…/read`` action.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...durations import duration_seconds
from ..identity import roles
from ..state import schedules
from ..state.schedules import ScheduleError, ScheduleRequest, ScheduleView
from .assignments import (
    assignment_id,
    checked_condition,
    known_role_guid,
    principal_type_for,
    reach_of,
    select,
    write_attributes,
)
from .common import (
    LATEST,
    ArmError,
    Scope,
    authenticate,
    guarded,
    is_at_or_above,
    is_guid,
    iso,
    json_body,
    listing,
    parse_filter,
    parse_iso,
    parse_scope,
    properties_of,
    require_api_version,
    require_permission,
    scope_key,
    text_property,
)
from .roles import role_definition_id

_AUTH = "Microsoft.Authorization/"
REQUESTS = "RoleAssignmentScheduleRequests"
SCHEDULES = "RoleAssignmentSchedules"
INSTANCES = "RoleAssignmentScheduleInstances"
_UNSUPPORTED_TYPES = (
    "AdminUpdate",
    "AdminExtend",
    "AdminRenew",
    "SelfActivate",
    "SelfDeactivate",
    "SelfExtend",
    "SelfRenew",
)


def _object_id(scope: str, kind: str, name: str) -> str:
    return f"{scope.rstrip('/')}/providers/{_AUTH}{kind}/{name}"


def _expanded(request: Request, scope: str, role_guid: str, principal_id: str) -> dict:
    service = request.app.state.service
    role = roles.role_by_id(role_guid)
    principal = service.principal(principal_id.lower())
    scope_name = scope.rstrip("/").rsplit("/", 1)[-1] if scope.strip("/") else "Root"
    scope_type = (
        "subscription"
        if scope.strip("/").count("/") == 1
        else ("resourcegroup" if scope.strip("/").count("/") == 3 else "resource")
    )
    return {
        "scope": {
            "id": scope,
            "displayName": "kvnb local" if scope_type == "subscription" else scope_name,
            "type": scope_type,
        },
        "roleDefinition": {
            "id": role_definition_id(service.store.subscription_id, role_guid),
            "displayName": role.role_name if role else None,
            "type": role.role_type if role else None,
        },
        "principal": {
            "id": principal_id,
            "displayName": principal["display_name"] if principal else None,
            "email": principal["mail"] or principal["upn"] if principal else None,
            "type": principal["kind"] if principal else None,
        },
    }


def request_body(request: Request, item: ScheduleRequest) -> dict:
    service = request.app.state.service
    now = service.store.now()
    status = item.status_at(now)
    in_effect = item.request_type == schedules.ADMIN_ASSIGN and status == schedules.PROVISIONED
    return {
        "properties": {
            "targetRoleAssignmentScheduleId": (
                _object_id(item.scope, SCHEDULES, item.schedule_name) if item.schedule_name else None
            ),
            "targetRoleAssignmentScheduleInstanceId": (
                _object_id(item.scope, INSTANCES, item.assignment_name) if in_effect else None
            ),
            "scope": item.scope,
            "roleDefinitionId": role_definition_id(service.store.subscription_id, item.role_definition_id),
            "principalId": item.principal_id,
            "principalType": item.principal_type,
            "requestType": item.request_type,
            "status": status,
            "approvalId": None,
            "scheduleInfo": {
                "startDateTime": iso(item.start_time),
                "expiration": {
                    "type": item.expiration_type,
                    "endDateTime": iso(item.end_time),
                    "duration": item.duration,
                },
            },
            "ticketInfo": {"ticketNumber": item.ticket_number, "ticketSystem": item.ticket_system},
            "justification": item.justification,
            "requestorId": item.requestor_id,
            "createdOn": iso(item.created_on),
            "condition": item.condition,
            "conditionVersion": item.condition_version,
            "expandedProperties": _expanded(request, item.scope, item.role_definition_id, item.principal_id),
        },
        "name": item.name,
        "id": _object_id(item.scope, REQUESTS, item.name),
        "type": _AUTH + REQUESTS,
    }


def _member_type(view: ScheduleView, list_scope: str, by_target: bool) -> str:
    if scope_key(view.scope) != scope_key(list_scope) and is_at_or_above(view.scope, list_scope):
        return "Inherited"
    return "Group" if by_target and view.assignment.principal_type == "Group" else "Direct"


def schedule_body(request: Request, view: ScheduleView, list_scope: str, *, instance: bool, by_target: bool) -> dict:
    service = request.app.state.service
    record = view.assignment
    props = {
        "scope": record.scope,
        "roleDefinitionId": role_definition_id(service.store.subscription_id, record.role_definition_id),
        "principalId": record.principal_id,
        "principalType": record.principal_type,
        "linkedRoleEligibilityScheduleId": None,
        "assignmentType": "Assigned",
        "memberType": _member_type(view, list_scope, by_target),
        "status": "Provisioned",
        "startDateTime": iso(record.start_time if record.start_time is not None else record.created_on),
        "endDateTime": iso(record.end_time),
        "condition": record.condition,
        "conditionVersion": record.condition_version,
        "createdOn": iso(record.created_on),
        "expandedProperties": _expanded(request, record.scope, record.role_definition_id, record.principal_id),
    }
    if instance:
        props.update(
            roleAssignmentScheduleId=_object_id(record.scope, SCHEDULES, view.name),
            originRoleAssignmentId=assignment_id(record.scope, record.name),
            linkedRoleEligibilityScheduleInstanceId=None,
        )
        name, kind = record.name, INSTANCES
    else:
        props.update(
            roleAssignmentScheduleRequestId=(
                _object_id(record.scope, REQUESTS, view.request_name) if view.request_name else None
            ),
            updatedOn=iso(record.updated_on),
        )
        name, kind = view.name, SCHEDULES
    return {"properties": props, "name": name, "id": _object_id(record.scope, kind, name), "type": _AUTH + kind}


# -- create ---------------------------------------------------------------------------------------
def _window(store, info: object) -> schedules.Window:
    info = info if isinstance(info, dict) else {}
    start = parse_iso(info["startDateTime"], "startDateTime") if info.get("startDateTime") else store.now()
    expiration = info.get("expiration") if isinstance(info.get("expiration"), dict) else {}
    kind = expiration.get("type") or "NoExpiration"
    if kind == "AfterDuration":
        text = expiration.get("duration")
        try:
            seconds = duration_seconds(text) if isinstance(text, str) else 0
        except ValueError:
            seconds = 0
        if seconds <= 0:
            raise ArmError(
                400,
                "InvalidScheduleInfo",
                "An AfterDuration expiration needs a positive ISO 8601 'duration' such as PT1H or P30D.",
            )
        if start + seconds > LATEST:
            raise ArmError(
                400,
                "InvalidScheduleInfo",
                f"The duration '{text[:40]}' ends the schedule after "
                "9999-12-31T23:59:59Z; give a shorter duration or an earlier start.",
            )
        return schedules.Window(start, start + seconds, kind, text)
    if kind == "AfterDateTime":
        if not expiration.get("endDateTime"):
            raise ArmError(400, "InvalidScheduleInfo", "An AfterDateTime expiration needs 'endDateTime'.")
        return schedules.Window(start, parse_iso(expiration["endDateTime"], "endDateTime"), kind)
    if kind == "NoExpiration":
        return schedules.Window(start, None, kind)
    raise ArmError(
        400,
        "InvalidScheduleInfo",
        f"The expiration type '{kind}' is not valid; use AfterDuration, AfterDateTime or NoExpiration.",
    )


@guarded
async def create_request(request: Request) -> JSONResponse:
    require_api_version(request)
    caller = authenticate(request)
    scope = parse_scope(request, request.path_params.get("scope", ""))
    name = request.path_params["name"]
    if not is_guid(name):
        raise ArmError(400, "InvalidRoleAssignmentScheduleRequestId", f"The request name '{name}' must be a GUID.")
    if scope.kind == "root":
        raise ArmError(400, "InvalidScope", "Schedule requests at the root scope are not supported by the local vault.")
    props = properties_of(await json_body(request))
    role_text = text_property(props, "roleDefinitionId", required=True)
    principal_id = text_property(props, "principalId", required=True).lower()
    request_type = text_property(props, "requestType", required=True)
    if request_type in _UNSUPPORTED_TYPES:
        raise ArmError(
            400,
            "InvalidRequestType",
            f"The request type '{request_type}' is not supported by the local vault; use AdminAssign or AdminRemove.",
        )
    if request_type not in (schedules.ADMIN_ASSIGN, schedules.ADMIN_REMOVE):
        raise ArmError(400, "InvalidRequestType", f"The request type '{request_type}' is not valid.")
    store = request.app.state.service.store
    assign = request_type == schedules.ADMIN_ASSIGN
    require_permission(
        request,
        caller,
        _AUTH + ("roleAssignments/write" if assign else "roleAssignments/delete"),
        _object_id(scope.path, REQUESTS, name),
        write_attributes(store, role_text, principal_id, source="Request" if assign else "Resource"),
    )
    guid = known_role_guid(role_text)
    principal_type = principal_type_for(store, principal_id, None)
    condition, condition_version = checked_condition(props)
    ticket = props.get("ticketInfo") if isinstance(props.get("ticketInfo"), dict) else {}
    common = {
        "scope": scope.path,
        "role_guid": guid,
        "principal_id": principal_id,
        "principal_type": principal_type,
        "requestor_id": caller.oid,
        "justification": text_property(props, "justification"),
        "ticket_number": _text(ticket.get("ticketNumber")),
        "ticket_system": _text(ticket.get("ticketSystem")),
    }
    try:
        if request_type == schedules.ADMIN_ASSIGN:
            item = schedules.admin_assign(
                store,
                name,
                window=_window(store, props.get("scheduleInfo")),
                condition=condition,
                condition_version=condition_version,
                **common,
            )
        else:
            item = schedules.admin_remove(store, name, **common)
    except ScheduleError as exc:
        raise ArmError(exc.status, exc.code, exc.message) from None
    return JSONResponse(request_body(request, item), status_code=201)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# -- read -----------------------------------------------------------------------------------------
def _require_read(request: Request, caller, kind: str, scope: Scope, own_only: bool) -> None:
    if not own_only:
        require_permission(request, caller, f"{_AUTH}{kind[0].lower()}{kind[1:]}/read", scope.path)


@guarded
async def get_request(request: Request) -> JSONResponse:
    require_api_version(request)
    caller = authenticate(request)
    scope = parse_scope(request, request.path_params.get("scope", ""))
    store = request.app.state.service.store
    item = schedules.get_request(store, request.path_params["name"])
    own = item is not None and caller.oid.lower() in (item.requestor_id.lower(), item.principal_id.lower())
    if not own:
        _require_read(request, caller, REQUESTS, scope, False)
    if item is None or scope_key(item.scope) != scope_key(scope.path):
        raise ArmError(
            404,
            "RoleAssignmentScheduleRequestNotFound",
            f"The role assignment schedule request '{request.path_params['name']}' is not found.",
        )
    return JSONResponse(request_body(request, item))


@guarded
async def list_requests(request: Request) -> JSONResponse:
    require_api_version(request)
    caller = authenticate(request)
    scope = parse_scope(request, request.path_params.get("scope", ""))
    list_filter = parse_filter(request, frozenset({"atscope", "principal", "asrequestor", "astarget"}))
    own_only = list_filter.as_requestor or list_filter.as_target
    _require_read(request, caller, REQUESTS, scope, own_only)
    store = request.app.state.service.store
    items = select(schedules.list_requests(store), scope.path, list_filter)
    if list_filter.as_requestor:
        items = [i for i in items if i.requestor_id.lower() == caller.oid.lower()]
    if list_filter.as_target:
        reach = reach_of(store, caller.oid)
        items = [i for i in items if i.principal_id.lower() in reach]
    return listing(items, lambda item: request_body(request, item))


@guarded
async def cancel(request: Request) -> JSONResponse:
    require_api_version(request)
    caller = authenticate(request)
    scope = parse_scope(request, request.path_params.get("scope", ""))
    store = request.app.state.service.store
    item = schedules.get_request(store, request.path_params["name"])
    if item is None or scope_key(item.scope) != scope_key(scope.path):
        raise ArmError(
            404,
            "RoleAssignmentScheduleRequestNotFound",
            f"The role assignment schedule request '{request.path_params['name']}' is not found.",
        )
    if item.requestor_id.lower() != caller.oid.lower():
        require_permission(
            request,
            caller,
            _AUTH + "roleAssignments/write",
            scope.path,
            write_attributes(store, item.role_definition_id, item.principal_id),
        )
    try:
        schedules.cancel_request(store, item.name)
    except ScheduleError as exc:
        raise ArmError(exc.status, exc.code, exc.message) from None
    return Response(status_code=200)


def _views(kind: str):
    async def list_views(request: Request) -> JSONResponse:
        require_api_version(request)
        caller = authenticate(request)
        scope = parse_scope(request, request.path_params.get("scope", ""))
        list_filter = parse_filter(request, frozenset({"atscope", "principal", "assigned", "astarget"}))
        _require_read(request, caller, kind, scope, list_filter.as_target)
        store = request.app.state.service.store
        views = (schedules.instances if kind == INSTANCES else schedules.schedules)(store)
        views = select(views, scope.path, list_filter)
        target = caller.oid if list_filter.as_target else list_filter.assigned_to
        if target:
            reach = reach_of(store, target)
            views = [v for v in views if v.principal_id.lower() in reach]
        return listing(
            views,
            lambda view: schedule_body(request, view, scope.path, instance=kind == INSTANCES, by_target=bool(target)),
        )

    async def get_view(request: Request) -> JSONResponse:
        require_api_version(request)
        caller = authenticate(request)
        scope = parse_scope(request, request.path_params.get("scope", ""))
        _require_read(request, caller, kind, scope, False)
        store = request.app.state.service.store
        views = (schedules.instances if kind == INSTANCES else schedules.schedules)(store)
        name = request.path_params["name"]
        for view in views:
            view_name = view.assignment.name if kind == INSTANCES else view.name
            if view_name == name and scope_key(view.scope) == scope_key(scope.path):
                return JSONResponse(
                    schedule_body(request, view, scope.path, instance=kind == INSTANCES, by_target=False)
                )
        raise ArmError(
            404,
            "RoleAssignmentScheduleNotFound" if kind == SCHEDULES else "RoleAssignmentScheduleInstanceNotFound",
            f"The {kind[:-1]} '{name}' is not found.",
        )

    return guarded(list_views), guarded(get_view)


routes = []
for _kind in (REQUESTS, SCHEDULES, INSTANCES):
    for _segment in (_kind, _kind[0].lower() + _kind[1:]):  # ARM paths are case-insensitive; ids use the capital
        _base = "/{scope:path}/providers/" + _AUTH + _segment
        if _kind == REQUESTS:
            routes += [
                Route(_base, list_requests, methods=["GET"]),
                Route(_base + "/{name}", get_request, methods=["GET"]),
                Route(_base + "/{name}", create_request, methods=["PUT"]),
                Route(_base + "/{name}/cancel", cancel, methods=["POST"]),
            ]
        else:
            _list, _get = _views(_kind)
            routes += [Route(_base, _list, methods=["GET"]), Route(_base + "/{name}", _get, methods=["GET"])]
