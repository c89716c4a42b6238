"""Graph routes for access reviews: ``/identityGovernance/accessReviews/definitions/…``.

Definitions (list, get, create), their instances (list, get, ``stop``, ``applyDecisions``,
``batchRecordDecisions``) and decisions (list, get, ``PATCH``), in Graph v1.0's shapes. The life
cycle is in `review_data`; who may do what in `access`.
"""

from __future__ import annotations

import json
import re
import sqlite3

from starlette.routing import Route

from ..state.directory import SERVICE_PRINCIPAL, USER
from . import review_data as data
from .access import can_read_review, holds_directory_role, is_reviewer
from .common import (
    PREFIX,
    GraphContext,
    apply_filter,
    bad_request,
    collection,
    denied,
    field,
    graph_route,
    iso,
    not_found,
    ok,
    parse_filter,
)
from .directory import lookup

BASE = f"{PREFIX}/identityGovernance/accessReviews/definitions"
_SCOPE_QUERY = re.compile(r"^/groups/([0-9a-fA-F-]{36})/(transitiveMembers|members)$")
_SETTINGS_DEFAULTS = {
    "mailNotificationsEnabled": True,
    "reminderNotificationsEnabled": True,
    "justificationRequiredOnApproval": False,
    "defaultDecisionEnabled": False,
    "defaultDecision": "None",
    "instanceDurationInDays": data.DEFAULT_DURATION_DAYS,
    "autoApplyDecisionsEnabled": False,
    "recommendationsEnabled": True,
    "recurrence": None,
    "applyActions": [{"@odata.type": "#microsoft.graph.removeAccessApplyAction"}],
}


# -- wire shapes ----------------------------------------------------------------------------------------------
def _identity(ctx: GraphContext, principal_id: str | None) -> dict:
    if not principal_id:
        return {"id": data.SYSTEM_REVIEWER, "displayName": "", "userPrincipalName": ""}
    if principal_id == data.SYSTEM_REVIEWER:
        return {"id": principal_id, "displayName": "AAD Access Reviews", "userPrincipalName": ""}
    principal = lookup(ctx.directory, principal_id)
    return {
        "id": principal_id,
        "displayName": principal.display_name if principal else "",
        "userPrincipalName": (principal.upn or "") if principal else "",
    }


def _scope(query: str) -> dict:
    return {
        "@odata.type": "#microsoft.graph.accessReviewQueryScope",
        "query": query,
        "queryType": "MicrosoftGraph",
        "queryRoot": None,
    }


def _definition(ctx: GraphContext, row: sqlite3.Row) -> dict:
    return {
        "id": row["id"],
        "displayName": row["display_name"],
        "createdDateTime": iso(row["created"]),
        "lastModifiedDateTime": iso(row["modified"]),
        "status": data.definition_status(ctx.store, row),
        "descriptionForAdmins": row["description_admins"],
        "descriptionForReviewers": row["description_reviewers"],
        "createdBy": _identity(ctx, row["created_by"]),
        "scope": _scope(row["scope_query"]),
        "instanceEnumerationScope": None,
        "reviewers": json.loads(row["reviewers"]),
        "fallbackReviewers": [],
        "backupReviewers": [],
        "settings": {**_SETTINGS_DEFAULTS, **json.loads(row["settings"])},
    }


def _instance(row: sqlite3.Row, definition: sqlite3.Row) -> dict:
    return {
        "id": row["id"],
        "startDateTime": iso(row["start_time"]),
        "endDateTime": iso(row["end_time"]),
        "status": row["status"],
        "scope": _scope(definition["scope_query"]),
        "reviewers": json.loads(definition["reviewers"]),
        "fallbackReviewers": [],
    }


def _principal(row: sqlite3.Row) -> dict:
    if row["principal_kind"] == SERVICE_PRINCIPAL:
        return {
            "@odata.type": "#microsoft.graph.servicePrincipalIdentity",
            "id": row["principal_id"],
            "displayName": row["principal_name"],
            "appId": None,
        }
    kind = "#microsoft.graph.userIdentity" if row["principal_kind"] == USER else "#microsoft.graph.identity"
    return {
        "@odata.type": kind,
        "id": row["principal_id"],
        "displayName": row["principal_name"],
        "userPrincipalName": row["principal_upn"],
    }


def _decision(ctx: GraphContext, row: sqlite3.Row, definition: sqlite3.Row) -> dict:
    group = lookup(ctx.directory, definition["group_id"])
    segment = "servicePrincipals" if row["principal_kind"] == SERVICE_PRINCIPAL else "users"
    return {
        "id": row["id"],
        "accessReviewId": row["instance_id"],
        "reviewedDateTime": iso(row["reviewed"]),
        "decision": row["decision"],
        "justification": row["justification"],
        "appliedDateTime": iso(row["applied"]),
        "applyResult": row["apply_result"],
        "recommendation": row["recommendation"],
        "principalLink": f"{ctx.root}/{segment}/{row['principal_id']}",
        "resourceLink": f"{ctx.root}/groups/{definition['group_id']}",
        "reviewedBy": _identity(ctx, row["reviewed_by"]),
        "appliedBy": _identity(ctx, row["applied_by"]),
        "resource": {"id": definition["group_id"], "displayName": group.display_name if group else "", "type": "group"},
        "principal": _principal(row),
    }


# -- access checks ---------------------------------------------------------------------------------------------
def _readable_definition(ctx: GraphContext) -> sqlite3.Row:
    data.refresh(ctx.store)
    row = data.definition_row(ctx.store, ctx.request.path_params["definition"])
    if not can_read_review(ctx.store, ctx.caller.oid, row["reviewers"]):
        raise denied("Only the review's reviewers and Identity Governance Administrators may read this review.")
    return row


def _instance_of(ctx: GraphContext, definition: sqlite3.Row) -> sqlite3.Row:
    return data.instance_row(ctx.store, definition["id"], ctx.request.path_params["instance"])


def _require_reviewer(ctx: GraphContext, definition: sqlite3.Row, *, admin_too: bool = False) -> None:
    if is_reviewer(ctx.store, ctx.caller.oid, definition["reviewers"]):
        return
    if admin_too and holds_directory_role(ctx.store, ctx.caller.oid):
        return
    raise denied(
        "Only a reviewer of this access review may do this."
        if not admin_too
        else "Only a reviewer of this access review or an Identity Governance Administrator may do this."
    )


# -- definitions -----------------------------------------------------------------------------------------------
@graph_route
async def list_definitions(ctx: GraphContext):
    if ctx.param("$filter"):
        raise bad_request("Unsupported Query.", "Request_UnsupportedQuery")
    data.refresh(ctx.store)
    rows = ctx.store.db.execute("SELECT * FROM graph_review_definitions ORDER BY created, id").fetchall()
    if not holds_directory_role(ctx.store, ctx.caller.oid):
        rows = [r for r in rows if is_reviewer(ctx.store, ctx.caller.oid, r["reviewers"])]
        if not rows:
            raise denied(
                "Reading access reviews needs AccessReview.Read.All and a reviewer assignment or the "
                "Identity Governance Administrator role."
            )
    return collection(ctx, [_definition(ctx, r) for r in rows], "identityGovernance/accessReviews/definitions")


@graph_route
async def get_definition(ctx: GraphContext):
    return _definition(ctx, _readable_definition(ctx))


@graph_route
async def create_definition(ctx: GraphContext):
    if not holds_directory_role(ctx.store, ctx.caller.oid):
        raise denied("Creating access reviews needs the Identity Governance Administrator role.")
    body = await ctx.body()
    name = field(body, "displayName", str, required=True)
    if not name.strip():
        raise bad_request("displayName is required.")
    query = field(field(body, "scope", dict, required=True), "query", str, required=True)
    match = _SCOPE_QUERY.match(query)
    if not match:
        raise bad_request("scope.query must be /groups/{id}/transitiveMembers or /groups/{id}/members.")
    group = lookup(ctx.directory, match[1])
    if group is None or group.kind != "Group":
        raise not_found(match[1])
    reviewers = field(body, "reviewers", list, default=[])
    if not all(isinstance(r, dict) and isinstance(r.get("query"), str) and r["query"] for r in reviewers):
        raise bad_request("reviewers must be a list of accessReviewReviewerScope objects with a query.")
    settings = field(body, "settings", dict, default={})
    definition_id = data.create_definition(
        ctx.store,
        display_name=name.strip(),
        group_id=group.id,
        reviewers=reviewers,
        settings=settings,
        created_by=ctx.caller.oid,
        transitive=match[2] == "transitiveMembers",
        description_admins=field(body, "descriptionForAdmins", str),
        description_reviewers=field(body, "descriptionForReviewers", str),
    )
    data.refresh(ctx.store)
    document = _definition(ctx, data.definition_row(ctx.store, definition_id))
    context = f"{ctx.root}/$metadata#identityGovernance/accessReviews/definitions/$entity"
    return ok(ctx.request, {"@odata.context": context, **document}, status=201)


# -- instances ---------------------------------------------------------------------------------------------------
@graph_route
async def list_instances(ctx: GraphContext):
    definition = _readable_definition(ctx)
    rows = data.instances(ctx.store, definition["id"])
    return collection(
        ctx,
        [_instance(r, definition) for r in rows],
        f"identityGovernance/accessReviews/definitions('{definition['id']}')/instances",
    )


@graph_route
async def get_instance(ctx: GraphContext):
    definition = _readable_definition(ctx)
    return _instance(_instance_of(ctx, definition), definition)


@graph_route
async def stop_instance(ctx: GraphContext):
    definition = _readable_definition(ctx)
    _require_reviewer(ctx, definition, admin_too=True)
    data.stop(ctx.store, _instance_of(ctx, definition))
    return None


@graph_route
async def apply_decisions(ctx: GraphContext):
    definition = _readable_definition(ctx)
    _require_reviewer(ctx, definition, admin_too=True)
    data.apply_decisions(ctx.store, _instance_of(ctx, definition), ctx.caller.oid)
    return None


def _decision_fields(body: dict) -> tuple[str, str | None]:
    return field(body, "decision", str, default=""), field(body, "justification", str)


@graph_route
async def batch_record_decisions(ctx: GraphContext):
    definition = _readable_definition(ctx)
    _require_reviewer(ctx, definition)
    instance = _instance_of(ctx, definition)
    body = await ctx.body()
    decision, justification = _decision_fields(body)
    principal_id = field(body, "principalId", str)
    rows = data.decisions(ctx.store, instance["id"])
    if principal_id:
        rows = [r for r in rows if r["principal_id"] == principal_id.lower()]
    data.record(ctx.store, instance, rows, ctx.caller.oid, decision, justification)
    return None


# -- decisions -----------------------------------------------------------------------------------------------------

_DECISION_FILTERS = {
    "decision": lambda d: d["decision"],
    "recommendation": lambda d: d["recommendation"],
    "applyresult": lambda d: d["applyResult"],
    "principal/id": lambda d: d["principal"]["id"],
}


@graph_route
async def list_decisions(ctx: GraphContext):
    definition = _readable_definition(ctx)
    instance = _instance_of(ctx, definition)
    items = [_decision(ctx, r, definition) for r in data.decisions(ctx.store, instance["id"])]
    items = apply_filter(items, parse_filter(ctx.param("$filter")), _DECISION_FILTERS)
    return collection(
        ctx,
        items,
        f"identityGovernance/accessReviews/definitions('{definition['id']}')/instances('{instance['id']}')/decisions",
    )


def _decision_row(ctx: GraphContext, instance: sqlite3.Row) -> sqlite3.Row:
    wanted = ctx.request.path_params["decision"].lower()
    for row in data.decisions(ctx.store, instance["id"]):
        if row["id"] == wanted:
            return row
    raise not_found(wanted)


@graph_route
async def get_decision(ctx: GraphContext):
    definition = _readable_definition(ctx)
    return _decision(ctx, _decision_row(ctx, _instance_of(ctx, definition)), definition)


@graph_route
async def update_decision(ctx: GraphContext):
    definition = _readable_definition(ctx)
    _require_reviewer(ctx, definition)
    instance = _instance_of(ctx, definition)
    row = _decision_row(ctx, instance)
    decision, justification = _decision_fields(await ctx.body())
    data.record(ctx.store, instance, [row], ctx.caller.oid, decision, justification)
    return None


_INSTANCE = BASE + "/{definition}/instances/{instance}"
routes = [
    Route(BASE, list_definitions, methods=["GET"]),
    Route(BASE, create_definition, methods=["POST"]),
    Route(BASE + "/{definition}", get_definition, methods=["GET"]),
    Route(BASE + "/{definition}/instances", list_instances, methods=["GET"]),
    Route(_INSTANCE, get_instance, methods=["GET"]),
    Route(_INSTANCE + "/stop", stop_instance, methods=["POST"]),
    Route(_INSTANCE + "/applyDecisions", apply_decisions, methods=["POST"]),
    Route(_INSTANCE + "/batchRecordDecisions", batch_record_decisions, methods=["POST"]),
    Route(_INSTANCE + "/decisions", list_decisions, methods=["GET"]),
    Route(_INSTANCE + "/decisions/{decision}", get_decision, methods=["GET"]),
    Route(_INSTANCE + "/decisions/{decision}", update_decision, methods=["PATCH"]),
]
