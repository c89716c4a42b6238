"""The local tenant's directory: users, groups, service principals and group membership.

Object ids are uuid5 of the tenant id and the persona handle, so a reset recreates the same ids and
notebooks, tests and role assignments can name them. Every identity that can sign in gets its own
identity header (the secret the token endpoint accepts, see `identity`); groups get none.
"""

from __future__ import annotations

import secrets
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .store import Store

USER, GROUP, SERVICE_PRINCIPAL = "User", "Group", "ServicePrincipal"
MEMBER, GUEST = "Member", "Guest"
DEFAULT_DOMAIN = "kvnblocal.onmicrosoft.com"
# Generous bound on nesting: Entra ID has no documented limit, but a walk must always end.
MAX_GROUPS_VISITED = 100_000

_COLUMNS = (
    "id, handle, kind, display_name, upn, mail, app_id, user_type, enabled, description, created, identity_header"
)


class DirectoryError(ValueError):
    """A directory request that cannot be done as asked (unknown principal, duplicate handle, …)."""


@dataclass(frozen=True)
class Principal:
    id: str
    handle: str | None
    kind: str  # User | Group | ServicePrincipal, as ARM's principalType names them
    display_name: str
    upn: str | None = None
    mail: str | None = None
    app_id: str | None = None
    user_type: str | None = None
    enabled: bool = True
    description: str | None = None
    created: int = 0
    # A credential: kept out of repr so it never lands in a log or a traceback.
    identity_header: str | None = field(default=None, repr=False)

    @property
    def can_sign_in(self) -> bool:
        # Every user and service principal gets an identity header when it is created, groups none;
        # so this holds for the header-less copies clients get (`kvnb.local.directory`) too.
        return self.kind != GROUP and self.enabled


def object_id(tenant_id: str, handle: str) -> str:
    """The deterministic object id of a persona: uuid5 of the tenant and the (case-folded) handle."""
    try:
        namespace = uuid.UUID(tenant_id)
    except ValueError:
        namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"https://sts.windows.net/{tenant_id}/")
    return str(uuid.uuid5(namespace, handle.casefold()))


def group_paths(start: str, parents: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """Every group *start* belongs to, directly or through nested groups; safe against cycles.

    ``parents`` maps a member id to the ids of the groups it is directly in. Each group found maps
    to the shortest chain of groups leading to it (the direct group first, the group itself last),
    which is how the access layer explains "through group X". *start* is never in the result.
    """
    paths: dict[str, tuple[str, ...]] = {}
    queue = deque((group, (group,)) for group in parents.get(start, ()))
    while queue and len(paths) < MAX_GROUPS_VISITED:
        group, path = queue.popleft()
        if group in paths or group == start:
            continue
        paths[group] = path
        queue.extend((parent, path + (parent,)) for parent in parents.get(group, ()) if parent not in paths)
    return paths


class Directory:
    """Reads and writes the ``principals`` and ``memberships`` tables."""

    def __init__(self, store: Store):
        self.store = store

    @property
    def tenant_id(self) -> str:
        return self.store.tenant_id

    # -- create --------------------------------------------------------------------------------
    def create_user(
        self,
        handle: str,
        display_name: str,
        *,
        upn: str | None = None,
        mail: str | None = None,
        user_type: str = MEMBER,
        enabled: bool = True,
        description: str | None = None,
    ) -> Principal:
        if user_type not in (MEMBER, GUEST):
            raise DirectoryError(f"user_type must be {MEMBER!r} or {GUEST!r}, not {user_type!r}.")
        return self._insert(
            handle,
            USER,
            display_name,
            upn=upn or f"{handle}@{DEFAULT_DOMAIN}",
            mail=mail,
            user_type=user_type,
            enabled=enabled,
            description=description,
            identity_header=secrets.token_urlsafe(32),
        )

    def create_group(
        self, handle: str, display_name: str, *, description: str | None = None, mail: str | None = None
    ) -> Principal:
        return self._insert(handle, GROUP, display_name, mail=mail, description=description)

    def create_service_principal(
        self,
        handle: str,
        display_name: str,
        *,
        app_id: str | None = None,
        enabled: bool = True,
        description: str | None = None,
    ) -> Principal:
        return self._insert(
            handle,
            SERVICE_PRINCIPAL,
            display_name,
            app_id=app_id or object_id(self.tenant_id, f"app:{handle}"),
            enabled=enabled,
            description=description,
            identity_header=secrets.token_urlsafe(32),
        )

    def _insert(self, handle: str, kind: str, display_name: str, **values) -> Principal:
        if not handle or not handle.strip() or handle != handle.strip():
            raise DirectoryError(f"A handle must be a non-empty name without surrounding spaces: {handle!r}.")
        principal = Principal(
            id=object_id(self.tenant_id, handle),
            handle=handle,
            kind=kind,
            display_name=display_name,
            created=self.store.now(),
            **values,
        )
        with self.store.transaction() as db:
            clash = db.execute(
                "SELECT handle FROM principals WHERE id = ? OR handle = ? COLLATE NOCASE",
                (principal.id, handle),
            ).fetchone()
            if clash:
                raise DirectoryError(f"The handle {handle!r} is taken (by {clash[0]!r}); choose another.")
            if (
                principal.upn
                and db.execute("SELECT 1 FROM principals WHERE upn = ? COLLATE NOCASE", (principal.upn,)).fetchone()
            ):
                raise DirectoryError(f"The user principal name {principal.upn!r} is taken.")
            db.execute(
                f"INSERT INTO principals ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    principal.id,
                    principal.handle,
                    principal.kind,
                    principal.display_name,
                    principal.upn,
                    principal.mail,
                    principal.app_id,
                    principal.user_type,
                    int(principal.enabled),
                    principal.description,
                    principal.created,
                    principal.identity_header,
                ),
            )
        return principal

    # -- read ----------------------------------------------------------------------------------
    def get(self, principal_id: str) -> Principal:
        principal = self._one("id = ?", principal_id.lower())
        if principal is None:
            raise DirectoryError(f"No principal with object id {principal_id!r} in the local tenant.")
        return principal

    def list_principals(self, kind: str | None = None) -> list[Principal]:
        """Every principal (or every one of *kind*), ordered by kind then handle."""
        where, args = ("WHERE kind = ?", (kind,)) if kind else ("", ())
        rows = self.store.db.execute(
            f"SELECT {_COLUMNS} FROM principals {where} ORDER BY kind, handle COLLATE NOCASE", args
        ).fetchall()
        return [_principal(row) for row in rows]

    def users(self) -> list[Principal]:
        return self.list_principals(USER)

    def groups(self) -> list[Principal]:
        return self.list_principals(GROUP)

    def service_principals(self) -> list[Principal]:
        return self.list_principals(SERVICE_PRINCIPAL)

    def principal_by_handle(self, handle: str) -> Principal | None:
        return self._one("handle = ? COLLATE NOCASE", handle)

    def principal_by_upn(self, upn: str) -> Principal | None:
        return self._one("upn = ? COLLATE NOCASE", upn)

    def principal_by_identity_header(self, header: str) -> Principal | None:
        return self._one("identity_header = ?", header) if header else None

    def principal_by_display_name(self, display_name: str, *, kind: str | None = None) -> Principal | None:
        """The one principal with this display name; raises when several share it (as groups may)."""
        sql = f"SELECT {_COLUMNS} FROM principals WHERE display_name = ? COLLATE NOCASE"
        args: tuple = (display_name,)
        if kind:
            sql, args = sql + " AND kind = ?", args + (kind,)
        rows = self.store.db.execute(sql, args).fetchall()
        if len(rows) > 1:
            ids = ", ".join(sorted(row["id"] for row in rows))
            raise DirectoryError(f"{len(rows)} principals are named {display_name!r} ({ids}); give the object id.")
        return _principal(rows[0]) if rows else None

    def _one(self, where: str, value: str) -> Principal | None:
        row = self.store.db.execute(f"SELECT {_COLUMNS} FROM principals WHERE {where}", (value,)).fetchone()
        return _principal(row) if row else None

    # -- change --------------------------------------------------------------------------------
    def set_enabled(self, principal_id: str, enabled: bool) -> Principal:
        principal = self.get(principal_id)
        if principal.kind == GROUP:
            raise DirectoryError("Groups cannot be disabled; remove their members or assignments instead.")
        with self.store.transaction() as db:
            db.execute("UPDATE principals SET enabled = ? WHERE id = ?", (int(enabled), principal.id))
        return self.get(principal.id)

    def delete(self, principal_id: str) -> None:
        """Remove a principal and its memberships; its role assignments stay, orphaned, as on Azure."""
        principal = self.get(principal_id)
        with self.store.transaction() as db:
            db.execute("DELETE FROM memberships WHERE group_id = ? OR member_id = ?", (principal.id, principal.id))
            db.execute("DELETE FROM principals WHERE id = ?", (principal.id,))

    # -- membership ----------------------------------------------------------------------------
    def add_member(self, group_id: str, member_id: str) -> bool:
        """Put *member_id* into *group_id*; True if it was added, False if it was already there."""
        group, member = self.get(group_id), self.get(member_id)
        if group.kind != GROUP:
            raise DirectoryError(f"{group.display_name!r} is a {group.kind}, not a group.")
        if group.id == member.id:
            raise DirectoryError("A group cannot be a member of itself.")
        with self.store.transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO memberships (group_id, member_id) VALUES (?, ?)", (group.id, member.id)
            )
        return cursor.rowcount == 1

    def remove_member(self, group_id: str, member_id: str) -> bool:
        """Take *member_id* out of *group_id*; True if it was a member."""
        with self.store.transaction() as db:
            cursor = db.execute(
                "DELETE FROM memberships WHERE group_id = ? AND member_id = ?", (group_id.lower(), member_id.lower())
            )
        return cursor.rowcount == 1

    def members(self, group_id: str) -> list[Principal]:
        """Direct members of a group."""
        rows = self.store.db.execute(
            f"SELECT {_prefixed('p')} FROM memberships m JOIN principals p ON p.id = m.member_id "
            "WHERE m.group_id = ? ORDER BY p.kind, p.handle COLLATE NOCASE",
            (group_id.lower(),),
        ).fetchall()
        return [_principal(row) for row in rows]

    def groups_of(self, member_id: str) -> list[Principal]:
        """Groups *member_id* is a direct member of."""
        rows = self.store.db.execute(
            f"SELECT {_prefixed('p')} FROM memberships m JOIN principals p ON p.id = m.group_id "
            "WHERE m.member_id = ? ORDER BY p.handle COLLATE NOCASE",
            (member_id.lower(),),
        ).fetchall()
        return [_principal(row) for row in rows]

    def transitive_groups(self, principal_id: str) -> set[str]:
        """Ids of every group the principal is in, directly or through nesting (cycle-safe)."""
        return self._closure(principal_id, "SELECT group_id FROM memberships WHERE member_id = ?")

    def transitive_members(self, group_id: str) -> set[str]:
        """Ids of every principal in the group, directly or through nested groups (cycle-safe)."""
        return self._closure(group_id, "SELECT member_id FROM memberships WHERE group_id = ?")

    def membership_edges(self) -> dict[str, tuple[str, ...]]:
        """member id → ids of the groups it is directly in (for `group_paths`)."""
        parents: dict[str, list[str]] = {}
        for member, group in self.store.db.execute("SELECT member_id, group_id FROM memberships"):
            parents.setdefault(member, []).append(group)
        return {member: tuple(groups) for member, groups in parents.items()}

    def _closure(self, start: str, step_sql: str) -> set[str]:
        db = self.store.db
        start = start.lower()
        found: set[str] = set()
        frontier = [start]
        while frontier and len(found) < MAX_GROUPS_VISITED:
            following = []
            for node in frontier:
                for (other,) in db.execute(step_sql, (node,)):
                    if other not in found:
                        found.add(other)
                        following.append(other)
            frontier = following
        found.discard(start)  # a cycle back to the start does not make it its own member
        return found


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in _COLUMNS.split(","))


def _principal(row) -> Principal:
    return Principal(
        id=row["id"],
        handle=row["handle"],
        kind=row["kind"],
        display_name=row["display_name"],
        upn=row["upn"],
        mail=row["mail"],
        app_id=row["app_id"],
        user_type=row["user_type"],
        enabled=bool(row["enabled"]),
        description=row["description"],
        created=row["created"],
        identity_header=row["identity_header"],
    )
