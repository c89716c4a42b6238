"""A `Resolver` over Microsoft Graph (`kvnb.graph.GraphClient`): the same calls on Azure and locally.

* lookup → ``POST /directoryObjects/getByIds`` (users, groups, service principals);
* search → users by ``userPrincipalName`` (a name with ``@``), else groups, service principals and
  users by ``displayName``;
* member_of → ``memberOf`` level by level, so each group comes with the chain that leads to it
  ("through group X"); bounded, and safe against cycles.

On Azure these need the usual directory read permissions (any member user has them by default).
"""

from __future__ import annotations

from .errors import AccessError
from .principals import PrincipalInfo, Resolver

_KINDS = {"#microsoft.graph.user": "User", "#microsoft.graph.group": "Group",
          "#microsoft.graph.servicePrincipal": "ServicePrincipal"}
_SEGMENTS = {"User": "users", "Group": "groups", "ServicePrincipal": "servicePrincipals"}
_SELECT = "id,displayName,userPrincipalName,appId,accountEnabled"
MAX_GROUPS = 2000  # a bound on one principal's group walk


def _info(item: dict, kind: str | None = None) -> PrincipalInfo:
    kind = kind or _KINDS.get(item.get("@odata.type", ""))
    enabled = item.get("accountEnabled")
    return PrincipalInfo(id=item["id"].lower(), kind=kind, display_name=item.get("displayName"),
                         user_principal_name=item.get("userPrincipalName") if kind == "User" else None,
                         app_id=item.get("appId"), enabled=enabled if isinstance(enabled, bool) else None)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def graph_resolver(graph, *, handles: dict[str, str] | None = None) -> Resolver:
    """A resolver asking *graph*; *handles* maps local persona handles to object ids (local vault only)."""
    from azure.core.exceptions import HttpResponseError

    def lookup(ids) -> dict[str, PrincipalInfo]:
        wanted = sorted({i.lower() for i in ids})
        found: dict[str, PrincipalInfo] = {}
        for start in range(0, len(wanted), 1000):  # getByIds takes at most 1,000 ids
            body = graph.post("directoryObjects/getByIds", {"ids": wanted[start:start + 1000],
                                                            "types": ["user", "group", "servicePrincipal"]})
            found.update({p.id: p for p in map(_info, (body or {}).get("value", []))})
        return found

    def search(text: str) -> list[PrincipalInfo]:
        if handles and text.casefold() in handles:
            return list(lookup([handles[text.casefold()]]).values())
        if "@" in text:
            queries = [("User", f"userPrincipalName eq {_quoted(text)}")]
        else:
            queries = [(kind, f"displayName eq {_quoted(text)}") for kind in ("Group", "ServicePrincipal", "User")]
        for kind, condition in queries:
            items = list(graph.list(_SEGMENTS[kind], params={"$filter": condition, "$select": _SELECT}))
            if items:
                return [_info(item, kind) for item in items]
        return []

    def member_of(object_id: str) -> dict[str, tuple[str, ...]]:
        start = lookup([object_id]).get(object_id.lower())
        if start is None or start.kind is None:
            return {}
        paths: dict[str, tuple[str, ...]] = {}
        frontier = [(start.id, start.kind, ())]
        try:
            while frontier and len(paths) < MAX_GROUPS:
                member, kind, chain = frontier.pop(0)
                for item in graph.list(f"{_SEGMENTS[kind]}/{member}/memberOf"):
                    group = item["id"].lower()
                    if _KINDS.get(item.get("@odata.type")) == "Group" and group not in paths and group != start.id:
                        paths[group] = chain + (group,)
                        frontier.append((group, "Group", paths[group]))
        except HttpResponseError as exc:
            raise AccessError(f"Microsoft Graph refused to list the groups of {start.label} "
                              f"({exc.status_code}); effective access needs them: ask for directory read "
                              "access (GroupMember.Read.All).") from None
        return paths

    return Resolver(lookup=lookup, search=search, member_of=member_of, close=graph.close)
