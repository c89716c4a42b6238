"""Who a principal is, and which groups it is in: the directory questions the access layer asks.

ARM's role assignments carry only object ids and a principal type. Names, enabled state and
(transitive) group membership come from a directory, asked through a `Resolver` built from three
plain callables, so any directory can plug in:

* ``lookup(ids) -> {id: PrincipalInfo}``   (Graph: ``directoryObjects/getByIds``)
* ``search(text) -> [PrincipalInfo]``       (Graph: users by UPN, groups and SPs by display name)
* ``member_of(id) -> {group_id: chain}``    (Graph: ``transitiveMemberOf``; the chain runs from the
  principal's direct group to that group, to explain "through group X")

Three resolvers keep that contract (``kvnb.testing.resolver`` is its test suite, run by each):
`kvnb.access.graph_principals.graph_resolver` asks Microsoft Graph, on Azure and on the local vault
alike (`kvnb.access.resolvers.default_resolver` picks it); `local_resolver` asks the running local
vault for its tenant's directory through the local vault's seam (`kvnb.local.directory`, its admin
API); `ids_only_resolver` is the fallback without any directory: object ids only, no groups, and
effective access says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .errors import PrincipalNotFoundError

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


@dataclass(frozen=True)
class PrincipalInfo:
    """A user, group or service principal, as a directory describes it (the one principal type of kvnb)."""

    id: str  # object id, lower-case
    kind: str | None  # ARM's principalType: User | Group | ServicePrincipal; None when the directory could not tell
    display_name: str | None = None
    user_principal_name: str | None = None  # users only
    app_id: str | None = None  # service principals only
    enabled: bool | None = True  # None: unknown, or a group (groups have no enabled state)
    handle: str | None = None  # local vault persona
    user_type: str | None = None  # Member | Guest (users, when the directory says)
    found: bool = True  # False: the directory does not know the id (a deleted principal)

    @property
    def label(self) -> str:
        return self.user_principal_name or self.display_name or self.id


@dataclass(frozen=True)
class Resolver:
    lookup: Callable[[Iterable[str]], Mapping[str, PrincipalInfo]]
    search: Callable[[str], list[PrincipalInfo]]
    member_of: Callable[[str], Mapping[str, tuple[str, ...]]] | None = None  # None: memberships unknown
    close: Callable[[], None] | None = None  # releases what the resolver holds (an HTTP client)

    @property
    def knows_groups(self) -> bool:
        return self.member_of is not None

    def get(self, object_id: str) -> PrincipalInfo | None:
        return self.lookup([object_id.lower()]).get(object_id.lower())


def is_object_id(text: str) -> bool:
    return bool(_GUID.match(text.strip()))


def resolve_principal(reference: str, *, resolver: Resolver) -> PrincipalInfo:
    """A principal given as object id, user principal name, display name (e.g. a group's) or persona."""
    text = reference.strip()
    if is_object_id(text):
        known = resolver.get(text)
        return known or PrincipalInfo(id=text.lower(), kind=None, enabled=None)
    found = resolver.search(text)
    if not found:
        raise PrincipalNotFoundError(
            f"No user, group or service principal is called {reference!r}. Give an object "
            "id, a user principal name (name@domain) or a group's display name."
        )
    if len(found) > 1:
        ids = ", ".join(sorted(p.id for p in found))
        raise PrincipalNotFoundError(f"{len(found)} principals are called {reference!r} ({ids}); give the object id.")
    return found[0]


def ids_only_resolver() -> Resolver:
    """Accepts object ids, knows no names or groups: the fallback where no directory is reachable."""
    return Resolver(lookup=lambda ids: {}, search=lambda text: [], member_of=None)


def local_resolver(paths=None) -> Resolver:
    """The local vault's directory, asked of the running vault (``KVNB_HOME`` unless *paths*)."""
    from kvnb import local

    def with_directory(work):
        return work(local.directory(paths))

    def info(p) -> PrincipalInfo:
        return PrincipalInfo(
            id=p.id,
            kind=p.kind,
            display_name=p.display_name,
            user_principal_name=p.upn,
            app_id=p.app_id,
            enabled=None if p.kind == "Group" else p.enabled,
            handle=p.handle,
        )

    def lookup(ids: Iterable[str]) -> dict[str, PrincipalInfo]:
        wanted = {i.lower() for i in ids}
        return with_directory(lambda d: {p.id: info(p) for p in d.list_principals() if p.id in wanted})

    def search(text: str) -> list[PrincipalInfo]:
        def find(d):
            for how in (d.principal_by_handle, d.principal_by_upn):
                found = how(text)
                if found:
                    return [info(found)]
            folded = text.casefold()
            return [info(p) for p in d.list_principals() if (p.display_name or "").casefold() == folded]

        return with_directory(find)

    def member_of(object_id: str) -> dict[str, tuple[str, ...]]:
        return with_directory(lambda d: d.group_paths(object_id))

    return Resolver(lookup=lookup, search=search, member_of=member_of)


def local_handles(paths=None) -> dict[str, str]:
    """The local tenant's persona handles (case-folded) → object ids."""
    from kvnb import local

    return {p.handle.casefold(): p.id for p in local.personas(paths)}
