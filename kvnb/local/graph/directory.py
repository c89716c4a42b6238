"""Graph's directory subset: users, groups, service principals, membership, ``getByIds``.

Every signed-in identity may read it (see `graph_access`). Collections of one type (``/users``)
return items without ``@odata.type`` and with Graph's default property set unless ``$select``
asks for more (``accountEnabled`` and ``userType`` are not in the default set, as on Graph);
directory-object collections (members, memberOf, ``getByIds``) tag every item with its type.
"""

from __future__ import annotations

import uuid

from starlette.routing import Route

from ..state.directory import GROUP, SERVICE_PRINCIPAL, USER, Directory, DirectoryError, Principal
from .common import (
    PREFIX,
    GraphContext,
    apply_filter,
    bad_request,
    collection,
    graph_route,
    iso,
    not_found,
    parse_filter,
    select,
)

ODATA_TYPES = {
    USER: "#microsoft.graph.user",
    GROUP: "#microsoft.graph.group",
    SERVICE_PRINCIPAL: "#microsoft.graph.servicePrincipal",
}
_GETBYIDS_TYPES = {"user": USER, "group": GROUP, "serviceprincipal": SERVICE_PRINCIPAL}
_DEFAULT_USER = (
    "id",
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
)
MAX_IDS = 1000


def _user(p: Principal) -> dict:
    return {
        "id": p.id,
        "businessPhones": [],
        "displayName": p.display_name,
        "givenName": None,
        "jobTitle": None,
        "mail": p.mail,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": None,
        "surname": None,
        "userPrincipalName": p.upn,
        "accountEnabled": p.enabled,
        "userType": p.user_type,
        "createdDateTime": iso(p.created),
        "mailNickname": p.handle,
        "employeeId": None,
    }


def _group(p: Principal) -> dict:
    return {
        "id": p.id,
        "deletedDateTime": None,
        "classification": None,
        "createdDateTime": iso(p.created),
        "description": p.description,
        "displayName": p.display_name,
        "groupTypes": [],
        "isAssignableToRole": None,
        "mail": p.mail,
        "mailEnabled": False,
        "mailNickname": p.handle,
        "securityEnabled": True,
        "securityIdentifier": None,
        "visibility": None,
    }


def _service_principal(p: Principal) -> dict:
    return {
        "id": p.id,
        "deletedDateTime": None,
        "accountEnabled": p.enabled,
        "appDisplayName": p.display_name,
        "appId": p.app_id,
        "appOwnerOrganizationId": None,
        "displayName": p.display_name,
        "servicePrincipalNames": [p.app_id] if p.app_id else [],
        "servicePrincipalType": "Application",
        "description": p.description,
        "tags": [],
    }


def directory_object(p: Principal, *, typed: bool = True, default_only: bool = False) -> dict:
    """Graph's JSON for a principal; *default_only* trims a user to Graph's default property set."""
    body = {USER: _user, GROUP: _group, SERVICE_PRINCIPAL: _service_principal}[p.kind](p)
    if default_only and p.kind == USER:
        body = {k: body[k] for k in _DEFAULT_USER}
    return {"@odata.type": ODATA_TYPES[p.kind], **body} if typed else body


def lookup(directory: Directory, object_id: str) -> Principal | None:
    try:
        return directory.get(object_id)
    except DirectoryError:
        return None


def _render(ctx: GraphContext, principals: list[Principal], *, typed: bool) -> list[dict]:
    chosen = bool(ctx.param("$select"))
    return [select(ctx, directory_object(p, typed=typed, default_only=not chosen)) for p in principals]


def _find(ctx: GraphContext, key: str, kind: str | None) -> Principal:
    """A principal by object id (or, for users, user principal name)."""
    directory = ctx.directory
    principal = None
    if kind == USER and "@" in key:
        principal = directory.principal_by_upn(key)
    else:
        try:
            uuid.UUID(key)
        except ValueError:
            raise bad_request(f"Invalid object identifier '{key}'.", "Request_BadRequest") from None
        principal = lookup(directory, key)
    if principal is None or (kind is not None and principal.kind != kind):
        raise not_found(key)
    return principal


def _me(ctx: GraphContext) -> Principal:
    if not ctx.is_user:
        raise bad_request("/me request is only valid with delegated authentication flow.")
    return _find(ctx, ctx.caller.oid, USER)


def _by_ids(ctx: GraphContext, ids) -> list[Principal]:
    directory = ctx.directory
    found = [lookup(directory, i) for i in ids]
    return [p for p in found if p is not None]


_FILTERS = {
    USER: {
        "id": lambda o: o["id"],
        "userprincipalname": lambda o: o["userPrincipalName"],
        "displayname": lambda o: o["displayName"],
        "mail": lambda o: o["mail"],
        "usertype": lambda o: o["userType"],
        "accountenabled": lambda o: o["accountEnabled"],
        "mailnickname": lambda o: o["mailNickname"],
    },
    GROUP: {
        "id": lambda o: o["id"],
        "displayname": lambda o: o["displayName"],
        "mailnickname": lambda o: o["mailNickname"],
        "securityenabled": lambda o: o["securityEnabled"],
    },
    SERVICE_PRINCIPAL: {
        "id": lambda o: o["id"],
        "appid": lambda o: o["appId"],
        "displayname": lambda o: o["displayName"],
        "serviceprincipalnames": lambda o: o["servicePrincipalNames"],
    },
}
_CONTEXTS = {USER: "users", GROUP: "groups", SERVICE_PRINCIPAL: "servicePrincipals"}


def _list_kind(kind: str):
    async def handler(ctx: GraphContext):
        clauses = parse_filter(ctx.param("$filter"))
        principals = ctx.directory.list_principals(kind)
        kept_ids = {
            o["id"]
            for o in apply_filter([directory_object(p, typed=False) for p in principals], clauses, _FILTERS[kind])
        }
        kept = [p for p in principals if p.id in kept_ids]
        return collection(ctx, _render(ctx, kept, typed=False), _CONTEXTS[kind])

    handler.__name__ = f"list_{_CONTEXTS[kind]}"
    return graph_route(handler)


def _get_kind(kind: str):
    async def handler(ctx: GraphContext):
        principal = _find(ctx, ctx.request.path_params["key"], kind)
        body = _render(ctx, [principal], typed=False)[0]
        return {"@odata.context": f"{ctx.root}/$metadata#{_CONTEXTS[kind]}/$entity", **body}

    handler.__name__ = f"get_{_CONTEXTS[kind]}"
    return graph_route(handler)


def _relation(kind: str | None, relation: str):
    """members / transitiveMembers of a group; memberOf / transitiveMemberOf of anything (or of /me)."""

    async def handler(ctx: GraphContext):
        directory = ctx.directory
        subject = _me(ctx) if kind is None else _find(ctx, ctx.request.path_params["key"], kind)
        if relation == "members":
            found = directory.members(subject.id)
        elif relation == "transitiveMembers":
            found = _by_ids(ctx, directory.transitive_members(subject.id))
        elif relation == "memberOf":
            found = directory.groups_of(subject.id)
        else:
            found = _by_ids(ctx, directory.transitive_groups(subject.id))
        found.sort(key=lambda p: (p.kind, p.display_name.lower(), p.id))
        return collection(ctx, _render(ctx, found, typed=True), "directoryObjects")

    handler.__name__ = f"{(kind or 'me').lower()}_{relation}"
    return graph_route(handler)


@graph_route
async def me(ctx: GraphContext):
    body = _render(ctx, [_me(ctx)], typed=False)[0]
    return {"@odata.context": f"{ctx.root}/$metadata#users/$entity", **body}


@graph_route
async def get_by_ids(ctx: GraphContext):
    body = await ctx.body()
    ids, types = body.get("ids"), body.get("types")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise bad_request("Invalid request: 'ids' must be a list of object ids.", "Request_BadRequest")
    if len(ids) > MAX_IDS:
        raise bad_request(f"Too many ids: at most {MAX_IDS} per request.", "Request_BadRequest")
    kinds = None
    if types:
        if not isinstance(types, list):
            raise bad_request("Invalid request: 'types' must be a list.", "Request_BadRequest")
        kinds = {_GETBYIDS_TYPES.get(str(t).lower().rsplit(".", 1)[-1]) for t in types} - {None}
    wanted = []
    for raw in ids:
        try:
            wanted.append(str(uuid.UUID(raw)))
        except ValueError:
            raise bad_request(f"Invalid object identifier '{raw}'.", "Request_BadRequest") from None
    found = [p for p in _by_ids(ctx, wanted) if kinds is None or p.kind in kinds]
    # Graph answers in no promised order and skips ids it does not find; $select is not supported.
    return {
        "@odata.context": f"{ctx.root}/$metadata#directoryObjects",
        "value": [directory_object(p, typed=True) for p in found],
    }


@graph_route
async def get_directory_object(ctx: GraphContext):
    principal = _find(ctx, ctx.request.path_params["key"], None)
    return {"@odata.context": f"{ctx.root}/$metadata#directoryObjects/$entity", **directory_object(principal)}


def _routes() -> list[Route]:
    routes = [
        Route(f"{PREFIX}/me", me, methods=["GET"]),
        Route(f"{PREFIX}/directoryObjects/getByIds", get_by_ids, methods=["POST"]),
        Route(f"{PREFIX}/directoryObjects/{{key}}", get_directory_object, methods=["GET"]),
    ]
    for relation in ("memberOf", "transitiveMemberOf"):
        routes.append(Route(f"{PREFIX}/me/{relation}", _relation(None, relation), methods=["GET"]))
    for kind, segment in ((USER, "users"), (GROUP, "groups"), (SERVICE_PRINCIPAL, "servicePrincipals")):
        routes.append(Route(f"{PREFIX}/{segment}", _list_kind(kind), methods=["GET"]))
        routes.append(Route(f"{PREFIX}/{segment}/{{key}}", _get_kind(kind), methods=["GET"]))
        relations = ["memberOf", "transitiveMemberOf"] + (["members", "transitiveMembers"] if kind == GROUP else [])
        for relation in relations:
            routes.append(Route(f"{PREFIX}/{segment}/{{key}}/{relation}", _relation(kind, relation), methods=["GET"]))
    return routes


routes = _routes()
