"""The local tenant's directory as a client reads it: a snapshot the running vault serves.

What `kvnb.local.directory()` returns, with the read methods the principal resolvers use. Built from
the vault's admin API (identity headers are never part of it), never from the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from .state.directory import Principal, group_paths


@dataclass(frozen=True)
class TenantDirectory:
    principals: tuple[Principal, ...]
    memberships: dict[str, tuple[str, ...]]  # member id → ids of the groups it is directly in

    @classmethod
    def from_json(cls, document: dict) -> TenantDirectory:
        return cls(
            principals=tuple(Principal(**entry) for entry in document["principals"]),
            memberships={member: tuple(groups) for member, groups in document["memberships"].items()},
        )

    def list_principals(self) -> list[Principal]:
        return list(self.principals)

    def principal_by_handle(self, handle: str) -> Principal | None:
        return self._one("handle", handle)

    def principal_by_upn(self, upn: str) -> Principal | None:
        return self._one("upn", upn)

    def membership_edges(self) -> dict[str, tuple[str, ...]]:
        return self.memberships

    def group_paths(self, object_id: str) -> dict[str, tuple[str, ...]]:
        """Every group *object_id* is in, directly or nested, with the chain leading there."""
        return group_paths(object_id.lower(), self.memberships)

    def _one(self, attribute: str, value: str) -> Principal | None:
        folded = value.casefold()  # the database compares these case-insensitively too
        return next((p for p in self.principals if (getattr(p, attribute) or "").casefold() == folded), None)
