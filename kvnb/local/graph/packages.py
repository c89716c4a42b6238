"""Graph routes for entitlement management: ``/identityGovernance/entitlementManagement/…``.

Access packages (with ``resourceRoleScopes`` naming the group they grant), assignment policies,
assignment requests (create, list, get, ``filterByCurrentUser``, ``cancel``), assignments, and the
v1.0 approval API: ``accessPackageAssignmentApprovals/{requestId}`` with its ``stages``, where an
approver PATCHes ``reviewResult`` (204; 409 once decided).
"""

from __future__ import annotations

import json
import sqlite3

from starlette.routing import Route

from . import package_data as data
from .access import holds_directory_role, is_approver
from .common import (
    PREFIX,
    GraphContext,
    apply_filter,
    bad_request,
    collection,
    denied,
    field,
    function_argument,
    graph_route,
    iso,
    not_found,
    ok,
    parse_filter,
)
from .directory import lookup

BASE = f"{PREFIX}/identityGovernance/entitlementManagement"
_NO_EXPIRY = {"endDateTime": None, "duration": None, "type": "noExpiration"}


def _expand(ctx: GraphContext) -> set[str]:
    raw = ctx.param("$expand") or ""
    return {part.split("(")[0].strip().lower() for part in raw.split(",") if part.strip()}


# -- wire shapes ----------------------------------------------------------------------------------------------
def _role_scope(ctx: GraphContext, package: sqlite3.Row) -> dict:
    group = lookup(ctx.directory, package["group_id"])
    name = group.display_name if group else package["group_id"]
    resource = {
        "id": package["group_id"],
        "displayName": name,
        "originId": package["group_id"],
        "originSystem": "AadGroup",
    }
    return {
        "id": f"{package['id']}_{package['group_id']}",
        "createdDateTime": iso(package["created"]),
        "role": {
            "id": f"Member_{package['group_id']}",
            "displayName": "Member",
            "description": None,
            "originId": f"Member_{package['group_id']}",
            "originSystem": "AadGroup",
            "resource": resource,
        },
        "scope": {
            "id": package["group_id"],
            "displayName": "Root",
            "description": "Root Scope",
            "originId": package["group_id"],
            "originSystem": "AadGroup",
            "isRootScope": True,
        },
    }


def _package(ctx: GraphContext, row: sqlite3.Row, expand: set[str] = frozenset()) -> dict:
    body = {
        "id": row["id"],
        "displayName": row["display_name"],
        "description": row["description"],
        "isHidden": bool(row["is_hidden"]),
        "createdDateTime": iso(row["created"]),
        "modifiedDateTime": iso(row["modified"]),
    }
    if "assignmentpolicies" in expand:
        body["assignmentPolicies"] = [_policy(ctx, p) for p in data.policies_of(ctx.store, row["id"])]
    if "resourcerolescopes" in expand:
        body["resourceRoleScopes"] = [_role_scope(ctx, row)]
    if "catalog" in expand:
        body["catalog"] = {"id": row["catalog_id"], "displayName": row["catalog_name"]}
    return body


def _approver(ctx: GraphContext, user_id: str) -> dict:
    user = lookup(ctx.directory, user_id)
    return {
        "@odata.type": "#microsoft.graph.singleUser",
        "userId": user_id,
        "description": user.display_name if user else None,
    }


def _policy(ctx: GraphContext, row: sqlite3.Row, expand: set[str] = frozenset()) -> dict:
    body = {
        "id": row["id"],
        "displayName": row["display_name"],
        "description": row["description"],
        "allowedTargetScope": "allMemberUsers",
        "specificAllowedTargets": [],
        "createdDateTime": iso(row["created"]),
        "modifiedDateTime": iso(row["modified"]),
        "expiration": _NO_EXPIRY,
        "requestorSettings": {
            "enableTargetsToSelfAddAccess": True,
            "enableTargetsToSelfUpdateAccess": False,
            "enableTargetsToSelfRemoveAccess": True,
            "allowCustomAssignmentSchedule": False,
            "enableOnBehalfRequestorsToAddAccess": False,
            "onBehalfRequestors": [],
        },
        "requestApprovalSettings": {
            "isApprovalRequiredForAdd": bool(row["approval_required"]),
            "isApprovalRequiredForUpdate": False,
            "stages": [
                {
                    "durationBeforeAutomaticDenial": "P14D",
                    "isApproverJustificationRequired": False,
                    "isEscalationEnabled": False,
                    "durationBeforeEscalation": "PT0S",
                    "primaryApprovers": [_approver(ctx, a) for a in json.loads(row["approvers"])],
                    "fallbackPrimaryApprovers": [],
                    "escalationApprovers": [],
                    "fallbackEscalationApprovers": [],
                }
            ]
            if row["approval_required"]
            else [],
        },
        "reviewSettings": None,
    }
    if "accesspackage" in expand:
        body["accessPackage"] = _package(ctx, data.package_row(ctx.store, row["package_id"]))
    return body


def _subject(ctx: GraphContext, principal_id: str) -> dict:
    principal = lookup(ctx.directory, principal_id)
    return {
        "id": principal_id,
        "objectId": principal_id,
        "displayName": principal.display_name if principal else None,
        "email": principal.mail if principal else None,
        "principalName": principal.upn if principal else None,
        "onPremisesSecurityIdentifier": None,
        "subjectType": "servicePrincipal" if principal and principal.kind == "ServicePrincipal" else "user",
    }


def _assignment(ctx: GraphContext, row: sqlite3.Row, expand: set[str] = frozenset()) -> dict:
    body = {
        "id": row["id"],
        "state": row["state"],
        "status": row["status"],
        "expiredDateTime": None,
        "schedule": {"startDateTime": iso(row["created"]), "recurrence": None, "expiration": _NO_EXPIRY},
    }
    if "target" in expand:
        body["target"] = _subject(ctx, row["target_id"])
    if "accesspackage" in expand:
        body["accessPackage"] = _package(ctx, data.package_row(ctx.store, row["package_id"]))
    return body


def _request(ctx: GraphContext, row: sqlite3.Row, expand: set[str] = frozenset(), *, state=None, status=None) -> dict:
    body = {
        "id": row["id"],
        "requestType": row["request_type"],
        "state": state or row["state"],
        "status": status or row["status"],
        "createdDateTime": iso(row["created"]),
        "completedDateTime": iso(row["completed"]),
        "justification": row["justification"],
        "schedule": {
            "startDateTime": iso(row["created"]),
            "recurrence": None,
            "expiration": {"endDateTime": None, "duration": None, "type": "notSpecified"},
        },
    }
    if "accesspackage" in expand:
        body["accessPackage"] = _package(ctx, data.package_row(ctx.store, row["package_id"]))
    if "requestor" in expand:
        body["requestor"] = _subject(ctx, row["requestor_id"])
    if "assignment" in expand:
        assigned = (
            row["assignment_id"]
            and ctx.store.db.execute(
                "SELECT * FROM graph_package_assignments WHERE id = ?", (row["assignment_id"],)
            ).fetchone()
        )
        body["assignment"] = (
            _assignment(ctx, assigned, {"target"})
            if assigned
            else {"id": None, "state": None, "status": None, "target": _subject(ctx, row["target_id"])}
        )
    return body


def _approval(ctx: GraphContext, row: sqlite3.Row) -> dict:
    decided = row["review_result"] != "NotReviewed" or row["state"] not in data.OPEN_STATES
    return {
        "id": row["id"],
        "stages": [
            {
                "id": row["stage_id"],
                "displayName": None,
                "reviewedDateTime": iso(row["reviewed"]),
                "reviewResult": row["review_result"],
                "status": "Completed" if decided else "InProgress",
                "assignedToMe": is_approver(data.approvers_of(ctx.store, row), ctx.caller.oid)
                and not data.is_own(row, ctx.caller.oid),
                "justification": row["review_justification"] or "",
                "reviewedBy": (
                    {"id": row["reviewed_by"], "displayName": _subject(ctx, row["reviewed_by"])["displayName"]}
                    if row["reviewed_by"]
                    else None
                ),
            }
        ],
    }


# -- packages and policies ---------------------------------------------------------------------------------------
_PACKAGE_FILTERS = {"id": lambda p: p["id"], "displayname": lambda p: p["displayName"]}


@graph_route
async def list_packages(ctx: GraphContext):
    rows = ctx.store.db.execute("SELECT * FROM graph_access_packages ORDER BY display_name, id").fetchall()
    items = apply_filter(
        [_package(ctx, r, _expand(ctx)) for r in rows], parse_filter(ctx.param("$filter")), _PACKAGE_FILTERS
    )
    return collection(ctx, items, "identityGovernance/entitlementManagement/accessPackages")


@graph_route
async def get_package(ctx: GraphContext):
    return _package(ctx, data.package_row(ctx.store, ctx.request.path_params["package"]), _expand(ctx))


@graph_route
async def package_role_scopes(ctx: GraphContext):
    row = data.package_row(ctx.store, ctx.request.path_params["package"])
    return collection(ctx, [_role_scope(ctx, row)], "accessPackageResourceRoleScopes")


@graph_route
async def package_policies(ctx: GraphContext):
    row = data.package_row(ctx.store, ctx.request.path_params["package"])
    return collection(
        ctx,
        [_policy(ctx, p, _expand(ctx)) for p in data.policies_of(ctx.store, row["id"])],
        "accessPackageAssignmentPolicies",
    )


@graph_route
async def list_policies(ctx: GraphContext):
    rows = ctx.store.db.execute("SELECT * FROM graph_package_policies ORDER BY created, id").fetchall()
    items = [_policy(ctx, r, _expand(ctx) | {"accesspackage"}) for r in rows]
    items = apply_filter(
        items,
        parse_filter(ctx.param("$filter")),
        {
            "id": lambda p: p["id"],
            "displayname": lambda p: p["displayName"],
            "accesspackage/id": lambda p: p["accessPackage"]["id"],
        },
    )
    if "accesspackage" not in _expand(ctx):
        for item in items:
            item.pop("accessPackage")
    return collection(ctx, items, "identityGovernance/entitlementManagement/assignmentPolicies")


@graph_route
async def get_policy(ctx: GraphContext):
    return _policy(ctx, data.policy_row(ctx.store, ctx.request.path_params["policy"]), _expand(ctx))


# -- requests -------------------------------------------------------------------------------------------------------
_REQUEST_FILTERS = {"state": lambda r: r["state"], "requesttype": lambda r: r["requestType"], "id": lambda r: r["id"]}


def _requests_for(ctx: GraphContext, rows: list[sqlite3.Row]) -> dict:
    items = apply_filter(
        [_request(ctx, r, _expand(ctx)) for r in rows], parse_filter(ctx.param("$filter")), _REQUEST_FILTERS
    )
    return collection(ctx, items, "identityGovernance/entitlementManagement/assignmentRequests")


def _all_requests(ctx: GraphContext) -> list[sqlite3.Row]:
    return ctx.store.db.execute("SELECT * FROM graph_package_requests ORDER BY created, id").fetchall()


def _called_on(segment: str) -> str | None:
    """'approver' for the path segment `filterByCurrentUser(on='approver')`; None for an id."""
    return function_argument(segment, "filterByCurrentUser")


def _mine(ctx: GraphContext, on: str) -> list[sqlite3.Row]:
    me = ctx.caller.oid.lower()
    rows = _all_requests(ctx)
    if on == "target":
        return [r for r in rows if r["target_id"] == me]
    if on == "createdBy":
        return [r for r in rows if r["requestor_id"] == me]
    if on == "approver":
        return [
            r
            for r in rows
            if r["state"] == "pendingApproval"
            and is_approver(data.approvers_of(ctx.store, r), me)
            and not data.is_own(r, me)
        ]
    raise bad_request("on must be target, createdBy or approver.")


@graph_route
async def list_requests(ctx: GraphContext):
    if not holds_directory_role(ctx.store, ctx.caller.oid):
        raise denied(
            "Listing every request needs the Identity Governance Administrator role; use "
            "assignmentRequests/filterByCurrentUser(on='target') or (on='approver')."
        )
    return _requests_for(ctx, _all_requests(ctx))


@graph_route
async def create_request(ctx: GraphContext):
    request_id = data.create_request(ctx.store, ctx.caller.oid, await ctx.body())
    row = data.request_row(ctx.store, request_id)
    # The service accepts first and processes afterwards: the answer says submitted/Accepted.
    body = _request(ctx, row, state="submitted", status="Accepted")
    context = f"{ctx.root}/$metadata#identityGovernance/entitlementManagement/assignmentRequests/$entity"
    return ok(ctx.request, {"@odata.context": context, **body}, status=201)


@graph_route
async def get_request(ctx: GraphContext):
    key = ctx.request.path_params["request"]
    on = _called_on(key)
    if on is not None:
        return _requests_for(ctx, _mine(ctx, on))
    row = data.request_row(ctx.store, key)
    me = ctx.caller.oid.lower()
    if (
        me not in (row["target_id"], row["requestor_id"])
        and not is_approver(data.approvers_of(ctx.store, row), me)
        and not holds_directory_role(ctx.store, me)
    ):
        raise denied()
    return _request(ctx, row, _expand(ctx))


@graph_route
async def cancel_request(ctx: GraphContext):
    data.cancel(ctx.store, data.request_row(ctx.store, ctx.request.path_params["request"]), ctx.caller.oid)
    return None


@graph_route
async def list_assignments(ctx: GraphContext):
    if not holds_directory_role(ctx.store, ctx.caller.oid):
        raise denied("Listing every assignment needs the Identity Governance Administrator role.")
    rows = ctx.store.db.execute("SELECT * FROM graph_package_assignments ORDER BY created, id").fetchall()
    return collection(
        ctx, [_assignment(ctx, r, _expand(ctx)) for r in rows], "identityGovernance/entitlementManagement/assignments"
    )


# -- approvals -------------------------------------------------------------------------------------------------------
def _approval_row(ctx: GraphContext) -> sqlite3.Row:
    row = data.request_row(ctx.store, ctx.request.path_params["approval"])
    if not is_approver(data.approvers_of(ctx.store, row), ctx.caller.oid) and not holds_directory_role(
        ctx.store, ctx.caller.oid
    ):
        raise denied("Only the request's approvers may read its approval.")
    return row


@graph_route
async def get_approval(ctx: GraphContext):
    on = _called_on(ctx.request.path_params["approval"])
    if on is not None:
        if on != "approver":
            raise bad_request("on must be approver.")
        return collection(
            ctx,
            [_approval(ctx, r) for r in _mine(ctx, "approver")],
            "identityGovernance/entitlementManagement/accessPackageAssignmentApprovals",
        )
    return _approval(ctx, _approval_row(ctx))


@graph_route
async def list_stages(ctx: GraphContext):
    return collection(ctx, _approval(ctx, _approval_row(ctx))["stages"], "approvalStages")


@graph_route
async def get_stage(ctx: GraphContext):
    stages = _approval(ctx, _approval_row(ctx))["stages"]
    wanted = ctx.request.path_params["stage"].lower()
    for stage in stages:
        if stage["id"] == wanted:
            return stage
    raise not_found(wanted)


@graph_route
async def update_stage(ctx: GraphContext):
    row = data.request_row(ctx.store, ctx.request.path_params["approval"])
    body = await ctx.body()
    data.decide(
        ctx.store,
        row,
        ctx.request.path_params["stage"],
        ctx.caller.oid,
        field(body, "reviewResult", str, default=""),
        field(body, "justification", str),
    )
    return None


_APPROVALS = BASE + "/accessPackageAssignmentApprovals/{approval}"
routes = [
    Route(BASE + "/accessPackages", list_packages, methods=["GET"]),
    Route(BASE + "/accessPackages/{package}", get_package, methods=["GET"]),
    Route(BASE + "/accessPackages/{package}/resourceRoleScopes", package_role_scopes, methods=["GET"]),
    Route(BASE + "/accessPackages/{package}/assignmentPolicies", package_policies, methods=["GET"]),
    Route(BASE + "/assignmentPolicies", list_policies, methods=["GET"]),
    Route(BASE + "/assignmentPolicies/{policy}", get_policy, methods=["GET"]),
    Route(BASE + "/assignmentRequests", list_requests, methods=["GET"]),
    Route(BASE + "/assignmentRequests", create_request, methods=["POST"]),
    Route(BASE + "/assignmentRequests/{request}", get_request, methods=["GET"]),
    Route(BASE + "/assignmentRequests/{request}/cancel", cancel_request, methods=["POST"]),
    Route(BASE + "/assignments", list_assignments, methods=["GET"]),
    Route(_APPROVALS, get_approval, methods=["GET"]),
    Route(_APPROVALS + "/stages", list_stages, methods=["GET"]),
    Route(_APPROVALS + "/stages/{stage}", get_stage, methods=["GET"]),
    Route(_APPROVALS + "/stages/{stage}", update_stage, methods=["PATCH"]),
]
