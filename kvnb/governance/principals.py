"""Principals through Microsoft Graph: who an object id is, which groups hold roles, who is in them.

ARM role assignments carry object ids only. `get_principals` turns them into display name,
principal name, type, guest/member and enabled state with ``directoryObjects/getByIds`` in batches
of at most 1,000 ids (Graph's limit); ids Graph does not know come back with ``found`` False
(a deleted principal: an orphaned assignment). `graph_resolver` plugs Graph into the access
layer's `Resolver`, so effective access sees transitive group membership on Azure too.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable

import pandas as pd

from kvnb.graph import GraphClient, GraphPermissionError, graph_for

from .errors import GroupNotFoundError, permission_error

MAX_BATCH = 1000
MAX_GROUPS = 10_000  # bound on a membership walk
_TYPES = {"#microsoft.graph.user": "User", "#microsoft.graph.group": "Group",
          "#microsoft.graph.servicePrincipal": "ServicePrincipal"}
_SEGMENTS = {"User": "users", "Group": "groups", "ServicePrincipal": "servicePrincipals"}
PRINCIPAL_COLUMNS = ("principal_id", "display_name", "principal_name", "principal_type", "user_type", "enabled",
                     "found")


@dataclass(frozen=True)
class DirectoryPrincipal:
    id: str
    principal_type: str | None  # User | Group | ServicePrincipal (ARM's names); None when not found
    display_name: str | None = None
    principal_name: str | None = None  # UPN for users, app id for service principals
    user_type: str | None = None  # Member | Guest (users)
    enabled: bool | None = None  # accountEnabled; None for groups and unknowns
    found: bool = True

    @classmethod
    def from_graph(cls, item: dict) -> "DirectoryPrincipal":
        kind = _TYPES.get(item.get("@odata.type", ""))
        name = item.get("userPrincipalName") if kind == "User" else item.get("appId")
        return cls(id=item["id"].lower(), principal_type=kind, display_name=item.get("displayName"),
                   principal_name=name, user_type=item.get("userType") if kind == "User" else None,
                   enabled=item.get("accountEnabled") if kind != "Group" else None)


def _permission(exc: GraphPermissionError):
    return permission_error(exc, "principals")


def get_principals(target, ids: Iterable[str], *, graph: GraphClient | None = None,
                   batch_size: int = MAX_BATCH) -> dict[str, DirectoryPrincipal]:
    """Each distinct id → its `DirectoryPrincipal` (``found`` False when Graph does not know it)."""
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH} (Graph's getByIds limit).")
    wanted = list(dict.fromkeys(i.lower() for i in ids if i))
    result: dict[str, DirectoryPrincipal] = {}
    with graph_for(target, graph) as client:
        for start in range(0, len(wanted), batch_size):
            body = {"ids": wanted[start:start + batch_size], "types": ["user", "group", "servicePrincipal"]}
            try:
                answer = client.post("/directoryObjects/getByIds", body) or {}
            except GraphPermissionError as exc:
                raise _permission(exc) from None
            for item in answer.get("value", []):
                principal = DirectoryPrincipal.from_graph(item)
                result[principal.id] = principal
    for missing in (i for i in wanted if i not in result):
        result[missing] = DirectoryPrincipal(id=missing, principal_type=None, found=False)
    return result


def principals_frame(target, ids: Iterable[str], *, graph: GraphClient | None = None,
                     batch_size: int = MAX_BATCH) -> pd.DataFrame:
    """`get_principals` as a DataFrame with `PRINCIPAL_COLUMNS`, in the order the ids came."""
    found = get_principals(target, ids, graph=graph, batch_size=batch_size)
    rows = [(p.id, p.display_name, p.principal_name, p.principal_type, p.user_type, p.enabled, p.found)
            for p in found.values()]
    return pd.DataFrame(rows, columns=list(PRINCIPAL_COLUMNS))


def find_group(target, group: str, *, graph: GraphClient | None = None) -> DirectoryPrincipal:
    """A group by object id or display name."""
    with graph_for(target, graph) as client:
        try:
            if _is_guid(group):
                principal = get_principals(target, [group], graph=client)[group.lower()]
                if principal.principal_type == "Group":
                    return principal
                raise GroupNotFoundError(f"No group has the object id {group}.")
            escaped = group.replace("'", "''")
            items = list(client.list("/groups", params={"$filter": f"displayName eq '{escaped}'"}))
        except GraphPermissionError as exc:
            raise _permission(exc) from None
    if not items:
        raise GroupNotFoundError(f"No group is called {group!r}. Give its object id or exact display name.")
    if len(items) > 1:
        raise GroupNotFoundError(f"{len(items)} groups are called {group!r}; give the object id.")
    return DirectoryPrincipal(id=items[0]["id"].lower(), principal_type="Group", display_name=items[0]["displayName"])


def group_members(target, group: str, *, transitive: bool = True, graph: GraphClient | None = None) -> pd.DataFrame:
    """Members of a group (object id or display name), nested ones too unless ``transitive=False``."""
    with graph_for(target, graph) as client:
        group_id = find_group(target, group, graph=client).id
        relation = "transitiveMembers" if transitive else "members"
        try:
            items = list(client.list(f"/groups/{group_id}/{relation}", top=999))
        except GraphPermissionError as exc:
            raise _permission(exc) from None
        ids = [item["id"] for item in items]
        return principals_frame(target, ids, graph=client)


def member_of(target, principal_id: str, *, principal_type: str | None = None,
              graph: GraphClient | None = None) -> dict[str, tuple[str, ...]]:
    """Every group the principal is in → the chain of groups from its direct group to that one.

    Walks ``memberOf`` breadth first (shortest chains), so effective access can say "through X".
    """
    with graph_for(target, graph) as client:
        kind = principal_type
        if kind is None:
            kind = get_principals(target, [principal_id], graph=client)[principal_id.lower()].principal_type
        if kind is None:
            return {}
        chains: dict[str, tuple[str, ...]] = {}
        queue = deque([(_SEGMENTS[kind], principal_id.lower(), ())])
        try:
            while queue and len(chains) < MAX_GROUPS:
                segment, object_id, chain = queue.popleft()
                for item in client.list(f"/{segment}/{object_id}/memberOf", top=999):
                    group_id = item["id"].lower()
                    if _TYPES.get(item.get("@odata.type")) != "Group" or group_id in chains:
                        continue
                    chains[group_id] = chain + (group_id,)
                    queue.append(("groups", group_id, chains[group_id]))
        except GraphPermissionError as exc:
            raise _permission(exc) from None
        chains.pop(principal_id.lower(), None)
        return chains


def transitive_groups(target, principal_id: str, *, principal_type: str | None = None,
                      graph: GraphClient | None = None) -> pd.DataFrame:
    """Groups the principal is in, directly or nested: group_id, display_name, via (the chain's names)."""
    with graph_for(target, graph) as client:
        chains = member_of(target, principal_id, principal_type=principal_type, graph=client)
        names = get_principals(target, list(chains), graph=client)
    rows = [(group_id, names[group_id].display_name, " → ".join(names[g].display_name or g for g in chain))
            for group_id, chain in chains.items()]
    return pd.DataFrame(rows, columns=["group_id", "display_name", "via"])


def graph_resolver(target, graph: GraphClient):
    """A `kvnb.access.principals.Resolver` backed by Graph (the caller keeps *graph* open)."""
    from kvnb.access.principals import PrincipalInfo, Resolver

    def info(p: DirectoryPrincipal) -> PrincipalInfo:
        return PrincipalInfo(id=p.id, kind=p.principal_type, display_name=p.display_name,
                             user_principal_name=p.principal_name if p.principal_type == "User" else None,
                             app_id=p.principal_name if p.principal_type == "ServicePrincipal" else None,
                             enabled=p.enabled if p.principal_type != "Group" else True)

    def lookup(ids: Iterable[str]) -> dict[str, PrincipalInfo]:
        return {i: info(p) for i, p in get_principals(target, ids, graph=graph).items() if p.found}

    def search(text: str) -> list[PrincipalInfo]:
        escaped = text.replace("'", "''")
        queries = [("/groups", f"displayName eq '{escaped}'"), ("/servicePrincipals", f"displayName eq '{escaped}'")]
        if "@" in text:
            queries.insert(0, ("/users", f"userPrincipalName eq '{escaped}'"))
        for path, expression in queries:
            ids = [item["id"] for item in graph.list(path, params={"$filter": expression})]
            if ids:
                return list(lookup(ids).values())
        return []

    return Resolver(lookup=lookup, search=search,
                    member_of=lambda object_id: member_of(target, object_id, graph=graph))


def _is_guid(text: str) -> bool:
    import uuid

    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
