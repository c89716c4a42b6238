"""Principals through Microsoft Graph — the one Graph principal layer, for the access and governance layers.

ARM's role assignments carry object ids only. Graph says who they are and which groups they are in,
through `kvnb.graph.GraphClient`, the same calls on Azure and on the local vault:

* `get_principals` → ``POST /directoryObjects/getByIds`` in batches of at most 1,000 ids (Graph's
  limit); an id Graph does not know comes back with ``found`` False (a deleted principal: an orphaned
  assignment). `principals_frame` is the same as a DataFrame.
* `find_group` (by object id or display name) and `group_members` (``transitiveMembers``).
* `member_of` → ``memberOf`` level by level, breadth first, so each group comes with the shortest
  chain that leads to it ("through group X"); bounded by `MAX_GROUPS`, and safe against cycles.
* `graph_resolver` → the access layer's `Resolver` over all of the above.

A Graph 403 becomes `kvnb.errors.MissingGraphPermissionError` naming the permission (on Azure
``Directory.Read.All``, or ``User.Read.All`` and ``GroupMember.Read.All``; member users have them by
default).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from kvnb.errors import GroupNotFoundError
from kvnb.graph import GraphClient, GraphPermissionError, graph_for, permission_error

from .principals import PrincipalInfo, Resolver, is_object_id

if TYPE_CHECKING:
    import pandas as pd

    from kvnb.vault import VaultTarget

MAX_BATCH = 1000  # directoryObjects/getByIds takes at most 1,000 ids
# A bound on one principal's group walk. It costs a memberOf request (or more) per group reached, so
# 2,000 groups is already minutes of Graph calls; a walk cut short can only miss a group, which makes
# effective access err toward "no" (never a promise the vault would refuse). Graph's own transitive
# getMemberGroups stops at 11,000 ids (learn.microsoft.com/graph/api/directoryobject-getmembergroups).
MAX_GROUPS = 2000
_KINDS = {
    "#microsoft.graph.user": "User",
    "#microsoft.graph.group": "Group",
    "#microsoft.graph.servicePrincipal": "ServicePrincipal",
}
_SEGMENTS = {"User": "users", "Group": "groups", "ServicePrincipal": "servicePrincipals"}
_SELECT = "id,displayName,userPrincipalName,appId,accountEnabled,userType"
PRINCIPAL_COLUMNS = (
    "principal_id",
    "display_name",
    "principal_name",
    "principal_type",
    "user_type",
    "enabled",
    "found",
)


def principal_from_graph(item: dict, kind: str | None = None) -> PrincipalInfo:
    """A Graph user, group or service principal as a `PrincipalInfo` (*kind* when the caller knows it)."""
    kind = kind or _KINDS.get(item.get("@odata.type", ""))
    enabled = item.get("accountEnabled")
    return PrincipalInfo(
        id=item["id"].lower(),
        kind=kind,
        display_name=item.get("displayName"),
        user_principal_name=item.get("userPrincipalName") if kind == "User" else None,
        app_id=item.get("appId") if kind == "ServicePrincipal" else None,
        enabled=enabled if isinstance(enabled, bool) and kind != "Group" else None,
        user_type=item.get("userType") if kind == "User" else None,
    )


@contextmanager
def _refused_as(table: str) -> Iterator[None]:
    try:
        yield
    except GraphPermissionError as exc:
        raise permission_error(exc, table) from None


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- the calls, on an open client --------------------------------------------------------------------------
def _by_ids(client: GraphClient, ids: Iterable[str], batch_size: int = MAX_BATCH) -> dict[str, PrincipalInfo]:
    wanted = list(dict.fromkeys(i.lower() for i in ids if i))
    found: dict[str, PrincipalInfo] = {}
    with _refused_as("principals"):
        for start in range(0, len(wanted), batch_size):
            body = {"ids": wanted[start : start + batch_size], "types": ["user", "group", "servicePrincipal"]}
            answer = client.post("/directoryObjects/getByIds", body) or {}
            found.update({p.id: p for p in map(principal_from_graph, answer.get("value", []))})
    for missing in (i for i in wanted if i not in found):
        found[missing] = PrincipalInfo(id=missing, kind=None, enabled=None, found=False)
    return found


def _member_of(client: GraphClient, principal_id: str, kind: str | None) -> dict[str, tuple[str, ...]]:
    start = principal_id.lower()
    if kind is None:
        kind = _by_ids(client, [start])[start].kind
    if kind is None:
        return {}
    chains: dict[str, tuple[str, ...]] = {}
    queue = deque([(_SEGMENTS[kind], start, ())])
    with _refused_as("principals"):
        while queue and len(chains) < MAX_GROUPS:
            segment, object_id, chain = queue.popleft()
            for item in client.list(f"/{segment}/{object_id}/memberOf", top=999):
                group_id = item["id"].lower()
                if _KINDS.get(item.get("@odata.type")) != "Group" or group_id in chains or group_id == start:
                    continue
                chains[group_id] = chain + (group_id,)
                queue.append(("groups", group_id, chains[group_id]))
    return chains


def _search(client: GraphClient, text: str) -> list[PrincipalInfo]:
    if "@" in text:
        queries = [("User", f"userPrincipalName eq {_quoted(text)}")]
    else:
        queries = [(kind, f"displayName eq {_quoted(text)}") for kind in ("Group", "ServicePrincipal", "User")]
    with _refused_as("principals"):
        for kind, condition in queries:
            items = list(client.list(_SEGMENTS[kind], params={"$filter": condition, "$select": _SELECT}))
            if items:
                return [principal_from_graph(item, kind) for item in items]
    return []


# -- public, per vault ---------------------------------------------------------------------------------------
def get_principals(
    target: VaultTarget | None, ids: Iterable[str], *, graph: GraphClient | None = None, batch_size: int = MAX_BATCH
) -> dict[str, PrincipalInfo]:
    """Each distinct id (lower-case) → its `PrincipalInfo` (``found`` False when Graph does not know it).

    Needs directory read access (``User.Read.All`` and ``GroupMember.Read.All``, or ``Directory.Read.All``).

    :raises ValueError: *batch_size* is not 1 to 1,000.
    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403).
    """
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH} (Graph's getByIds limit).")
    with graph_for(target, graph) as client:
        return _by_ids(client, ids, batch_size)


def principals_frame(
    target: VaultTarget | None, ids: Iterable[str], *, graph: GraphClient | None = None, batch_size: int = MAX_BATCH
) -> pd.DataFrame:
    """`get_principals` as a DataFrame with `PRINCIPAL_COLUMNS`, in the order the ids came.

    ``principal_name`` is the user principal name of a user, the app id of a service principal.
    """
    import pandas as pd

    found = get_principals(target, ids, graph=graph, batch_size=batch_size)
    rows = [
        (p.id, p.display_name, p.user_principal_name or p.app_id, p.kind, p.user_type, p.enabled, p.found)
        for p in found.values()
    ]
    return pd.DataFrame(rows, columns=list(PRINCIPAL_COLUMNS))


def find_group(target: VaultTarget | None, group: str, *, graph: GraphClient | None = None) -> PrincipalInfo:
    """A group by object id or exact display name.

    :raises kvnb.errors.GroupNotFoundError: no group (or several) match.
    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403).
    """
    with graph_for(target, graph) as client:
        if is_object_id(group):
            principal = _by_ids(client, [group])[group.lower()]
            if principal.kind == "Group":
                return principal
            raise GroupNotFoundError(f"No group has the object id {group}.")
        with _refused_as("principals"):
            items = list(client.list("/groups", params={"$filter": f"displayName eq {_quoted(group)}"}))
    if not items:
        raise GroupNotFoundError(f"No group is called {group!r}. Give its object id or exact display name.")
    if len(items) > 1:
        raise GroupNotFoundError(f"{len(items)} groups are called {group!r}; give the object id.")
    return principal_from_graph(items[0], "Group")


def group_members(
    target: VaultTarget | None, group: str, *, transitive: bool = True, graph: GraphClient | None = None
) -> pd.DataFrame:
    """Members of a group (object id or display name), nested ones too unless ``transitive=False``.

    :raises kvnb.errors.GroupNotFoundError: as `find_group`.
    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403).
    """
    with graph_for(target, graph) as client:
        group_id = find_group(target, group, graph=client).id
        relation = "transitiveMembers" if transitive else "members"
        with _refused_as("principals"):
            ids = [item["id"] for item in client.list(f"/groups/{group_id}/{relation}", top=999)]
        return principals_frame(target, ids, graph=client)


def member_of(
    target: VaultTarget | None,
    principal_id: str,
    *,
    principal_type: str | None = None,
    graph: GraphClient | None = None,
) -> dict[str, tuple[str, ...]]:
    """Every group the principal is in → the chain of groups from its direct group to that one.

    Breadth first, so the chains are the shortest; at most `MAX_GROUPS` groups.

    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403).
    """
    with graph_for(target, graph) as client:
        return _member_of(client, principal_id, principal_type)


def transitive_groups(
    target: VaultTarget | None,
    principal_id: str,
    *,
    principal_type: str | None = None,
    graph: GraphClient | None = None,
) -> pd.DataFrame:
    """Groups the principal is in, directly or nested: group_id, display_name, via (the chain's names)."""
    import pandas as pd

    with graph_for(target, graph) as client:
        chains = _member_of(client, principal_id, principal_type)
        names = _by_ids(client, list(chains))
    rows = [
        (group_id, names[group_id].display_name, " → ".join(names[g].display_name or g for g in chain))
        for group_id, chain in chains.items()
    ]
    return pd.DataFrame(rows, columns=["group_id", "display_name", "via"])


def graph_resolver(graph: GraphClient, *, handles: dict[str, str] | None = None, close: bool = False) -> Resolver:
    """A `Resolver` asking *graph*; *handles* maps local persona handles (case-folded) to object ids.

    With *close* the resolver closes *graph* when it is closed (`default_resolver` owns its client).
    """

    def lookup(ids: Iterable[str]) -> dict[str, PrincipalInfo]:
        return {i: p for i, p in _by_ids(graph, ids).items() if p.found}

    def search(text: str) -> list[PrincipalInfo]:
        if handles and text.casefold() in handles:
            return list(lookup([handles[text.casefold()]]).values())
        return _search(graph, text)

    def groups(object_id: str) -> dict[str, tuple[str, ...]]:
        return _member_of(graph, object_id, None)

    return Resolver(lookup=lookup, search=search, member_of=groups, close=graph.close if close else None)
