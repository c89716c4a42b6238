"""Who may do what in the local tenant's Graph: a simple, documented stand-in for Graph permissions.

Entra combines app permissions (``AccessReview.Read.All``, ``EntitlementManagement.ReadWrite.All``)
with directory roles. The local tenant has one rule per surface instead:

* every signed-in identity reads the directory (users, groups, members, ``getByIds``) and the
  access packages and their policies (a member must see a package to request it);
* reading access reviews needs being one of the definition's reviewers or holding the
  *Identity Governance Administrator* directory role (the seed gives it to the admin group, so
  ``lead`` and ``backup``); recording decisions needs being a reviewer; stopping an instance or
  applying its decisions needs being a reviewer or that role;
* approving or denying an access request needs being an approver of the request's policy; listing
  every request needs the role; anyone sees the requests they made or that target them.
"""

from __future__ import annotations

import json

from ..state.directory import Directory
from ..state.store import Store

GOVERNANCE_ADMINISTRATOR = "Identity Governance Administrator"


def grant_directory_role(store: Store, role: str, principal_id: str) -> None:
    with store.transaction() as db:
        db.execute(
            "INSERT OR IGNORE INTO graph_directory_roles (role, principal_id) VALUES (?, ?)",
            (role, principal_id.lower()),
        )


def holds_directory_role(store: Store, principal_id: str, role: str = GOVERNANCE_ADMINISTRATOR) -> bool:
    holders = {
        row[0] for row in store.db.execute("SELECT principal_id FROM graph_directory_roles WHERE role = ?", (role,))
    }
    if not holders:
        return False
    principal_id = principal_id.lower()
    return principal_id in holders or bool(holders & Directory(store).transitive_groups(principal_id))


def reviewer_ids(store: Store, reviewers_json: str) -> set[str]:
    """Object ids named by a definition's reviewer scopes (``/users/{id}``, ``/groups/{id}/…members``)."""
    ids: set[str] = set()
    directory = Directory(store)
    for scope in json.loads(reviewers_json):
        parts = str(scope.get("query", "")).strip("/").split("/")
        if len(parts) == 2 and parts[0].lower() == "users":
            ids.add(parts[1].lower())
        elif len(parts) == 3 and parts[0].lower() == "groups":
            ids |= (
                directory.transitive_members(parts[1])
                if parts[2].lower() == "transitivemembers"
                else {p.id for p in directory.members(parts[1])}
            )
    return ids


def is_reviewer(store: Store, principal_id: str, reviewers_json: str) -> bool:
    return principal_id.lower() in reviewer_ids(store, reviewers_json)


def can_read_review(store: Store, principal_id: str, reviewers_json: str) -> bool:
    return is_reviewer(store, principal_id, reviewers_json) or holds_directory_role(store, principal_id)


def is_approver(approvers_json: str, principal_id: str) -> bool:
    return principal_id.lower() in {a.lower() for a in json.loads(approvers_json)}
