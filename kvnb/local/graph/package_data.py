"""Access packages that grant membership of one group, their policies, requests and approvals.

A ``userAdd`` request under a policy that needs approval waits in ``pendingApproval`` for its one
approval stage; an approver's ``Approve`` delivers it (the target joins the group, an assignment is
created, the request becomes ``delivered``), ``Deny`` ends it as ``denied``. An ``adminAdd`` by an
Identity Governance Administrator is delivered without approval; ``adminRemove`` takes the
assignment and the membership away. Delivery is immediate: the data plane sees the new membership
on the next request.
"""

from __future__ import annotations

import json
import sqlite3
import uuid

from ..state.directory import USER, Directory, DirectoryError
from ..state.store import Store
from .access import holds_directory_role, is_approver
from .common import GraphError, bad_request, denied, field, not_found

OPEN_STATES = ("submitted", "pendingApproval", "delivering")
_RESULTS = {"approve": "Approved", "approved": "Approved", "deny": "Denied", "denied": "Denied"}


def create_package(
    store: Store,
    *,
    display_name: str,
    description: str | None,
    group_id: str,
    approvers: list[str],
    catalog_id: str,
    catalog_name: str,
    created: int | None = None,
    approval_required: bool = True,
) -> tuple[str, str]:
    """A package granting membership of *group_id* and its request policy; returns (package, policy) ids."""
    created = store.now() if created is None else created
    package_id, policy_id = str(uuid.uuid4()), str(uuid.uuid4())
    with store.transaction() as db:
        db.execute(
            "INSERT INTO graph_access_packages (id, display_name, description, catalog_id, catalog_name,"
            " group_id, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (package_id, display_name, description, catalog_id, catalog_name, group_id.lower(), created, created),
        )
        db.execute(
            "INSERT INTO graph_package_policies (id, package_id, display_name, description, approvers,"
            " approval_required, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                policy_id,
                package_id,
                "Request with approval" if approval_required else "Request",
                f"Members of the tenant may request {display_name}.",
                json.dumps([a.lower() for a in approvers]),
                int(approval_required),
                created,
                created,
            ),
        )
    return package_id, policy_id


def _row(store: Store, table: str, key: str) -> sqlite3.Row:
    row = store.db.execute(f"SELECT * FROM {table} WHERE id = ?", (key.lower(),)).fetchone()
    if row is None:
        raise not_found(key)
    return row


def package_row(store: Store, package_id: str) -> sqlite3.Row:
    return _row(store, "graph_access_packages", package_id)


def policy_row(store: Store, policy_id: str) -> sqlite3.Row:
    return _row(store, "graph_package_policies", policy_id)


def request_row(store: Store, request_id: str) -> sqlite3.Row:
    return _row(store, "graph_package_requests", request_id)


def policies_of(store: Store, package_id: str) -> list[sqlite3.Row]:
    return store.db.execute(
        "SELECT * FROM graph_package_policies WHERE package_id = ? ORDER BY created, id", (package_id,)
    ).fetchall()


# -- requests -----------------------------------------------------------------------------------------------
def create_request(store: Store, caller_id: str, body: dict, *, created: int | None = None) -> str:
    """Validate and store a request from *caller_id*; returns its id (deliveries happen at once)."""
    kind = field(body, "requestType", str, default="").strip()
    kind = {"useradd": "userAdd", "adminadd": "adminAdd", "adminremove": "adminRemove"}.get(kind.lower())
    if kind is None:
        raise bad_request("requestType must be userAdd, adminAdd or adminRemove here.")
    assignment = field(body, "assignment", dict) or field(body, "accessPackageAssignment", dict, default={})
    justification = field(body, "justification", str)
    if kind == "adminRemove":
        return _admin_remove(store, caller_id, field(assignment, "id", str, default=""), created)
    package = package_row(store, field(assignment, "accessPackageId", str, default=""))
    policy = _policy_for(store, package, field(assignment, "assignmentPolicyId", str))
    target_id = field(assignment, "targetId", str, default=caller_id).lower()
    if kind == "userAdd":
        _check_self_request(store, caller_id, target_id)
    elif not holds_directory_role(store, caller_id):
        raise denied("Assigning access packages to others needs the Identity Governance Administrator role.")
    else:
        try:
            Directory(store).get(target_id)
        except DirectoryError:
            raise not_found(target_id) from None
    _check_not_open_or_assigned(store, package["id"], target_id)
    request_id = str(uuid.uuid4())
    created = store.now() if created is None else created
    needs_approval = kind == "userAdd" and bool(policy["approval_required"])
    with store.transaction() as db:
        db.execute(
            "INSERT INTO graph_package_requests (id, package_id, policy_id, request_type, state, status, target_id,"
            " requestor_id, justification, created, stage_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                request_id,
                package["id"],
                policy["id"],
                kind,
                "pendingApproval" if needs_approval else "delivering",
                "PendingApproval" if needs_approval else "Delivering",
                target_id,
                caller_id.lower(),
                justification,
                created,
                str(uuid.uuid4()),
            ),
        )
        if not needs_approval:
            _deliver(store, request_row(store, request_id))
    return request_id


def _policy_for(store: Store, package: sqlite3.Row, policy_id) -> sqlite3.Row:
    if policy_id:
        policy = policy_row(store, str(policy_id))
        if policy["package_id"] != package["id"]:
            raise bad_request("The assignment policy does not belong to this access package.")
        return policy
    policies = policies_of(store, package["id"])
    if not policies:
        raise bad_request("The access package has no assignment policy.")
    return policies[0]


def _check_self_request(store: Store, caller_id: str, target_id: str) -> None:
    if target_id != caller_id.lower():
        raise bad_request("A userAdd request is for the signed-in user: leave targetId out or give your own id.")
    try:
        caller = Directory(store).get(caller_id)
    except DirectoryError:
        raise denied() from None
    # The seed's policies allow member users only (allowedTargetScope allMemberUsers), as is common.
    if caller.kind != USER or caller.user_type != "Member":
        raise denied("This policy lets member users request access; guests and applications cannot.")


def _check_not_open_or_assigned(store: Store, package_id: str, target_id: str) -> None:
    open_request = store.db.execute(
        f"SELECT id FROM graph_package_requests WHERE package_id = ? AND target_id = ? AND state IN "
        f"({', '.join('?' * len(OPEN_STATES))})",
        (package_id, target_id, *OPEN_STATES),
    ).fetchone()
    if open_request:
        raise bad_request(
            f"There is already an open request ({open_request[0]}) for this access package.", "ExistingOpenRequest"
        )
    assigned = store.db.execute(
        "SELECT id FROM graph_package_assignments WHERE package_id = ? AND target_id = ? AND state = 'delivered'",
        (package_id, target_id),
    ).fetchone()
    if assigned:
        raise bad_request("The target already has this access package.", "AlreadyAssigned")


def _deliver(store: Store, request: sqlite3.Row) -> None:
    package = package_row(store, request["package_id"])
    assignment_id = str(uuid.uuid4())
    now = store.now()
    with store.transaction() as db:
        Directory(store).add_member(package["group_id"], request["target_id"])
        db.execute(
            "INSERT INTO graph_package_assignments (id, package_id, policy_id, target_id, state, status,"
            " created) VALUES (?, ?, ?, ?, 'delivered', 'Delivered', ?)",
            (assignment_id, package["id"], request["policy_id"], request["target_id"], now),
        )
        db.execute(
            "UPDATE graph_package_requests SET state = 'delivered', status = 'Delivered', completed = ?,"
            " assignment_id = ? WHERE id = ?",
            (now, assignment_id, request["id"]),
        )


def _admin_remove(store: Store, caller_id: str, assignment_id: str, created: int | None) -> str:
    if not holds_directory_role(store, caller_id):
        raise denied("Removing access package assignments needs the Identity Governance Administrator role.")
    row = _row(store, "graph_package_assignments", assignment_id)
    package = package_row(store, row["package_id"])
    request_id, now = str(uuid.uuid4()), store.now() if created is None else created
    with store.transaction() as db:
        Directory(store).remove_member(package["group_id"], row["target_id"])
        db.execute(
            "UPDATE graph_package_assignments SET state = 'expired', status = 'Expired' WHERE id = ?", (row["id"],)
        )
        db.execute(
            "INSERT INTO graph_package_requests (id, package_id, policy_id, request_type, state, status, target_id,"
            " requestor_id, created, completed, assignment_id, stage_id) VALUES (?, ?, ?, 'adminRemove', 'delivered',"
            " 'Delivered', ?, ?, ?, ?, ?, ?)",
            (
                request_id,
                package["id"],
                row["policy_id"],
                row["target_id"],
                caller_id.lower(),
                now,
                now,
                row["id"],
                str(uuid.uuid4()),
            ),
        )
    return request_id


def cancel(store: Store, request: sqlite3.Row, caller_id: str) -> None:
    if request["requestor_id"] != caller_id.lower() and not holds_directory_role(store, caller_id):
        raise denied("Only the requestor may cancel this request.")
    if request["state"] not in OPEN_STATES:
        raise GraphError(409, "Conflict", f"The request is {request['state']} and cannot be canceled.")
    with store.transaction() as db:
        db.execute(
            "UPDATE graph_package_requests SET state = 'canceled', status = 'Canceled', completed = ? WHERE id = ?",
            (store.now(), request["id"]),
        )


# -- approvals ----------------------------------------------------------------------------------------------------
def approvers_of(store: Store, request: sqlite3.Row) -> str:
    return policy_row(store, request["policy_id"])["approvers"]


def is_own(request: sqlite3.Row, principal_id: str) -> bool:
    """Whether *principal_id* made the request or would receive its access."""
    return principal_id.lower() in (request["requestor_id"], request["target_id"])


def decide(
    store: Store, request: sqlite3.Row, stage_id: str, approver_id: str, result: str, justification: str | None
) -> None:
    """An approver's Approve (deliver) or Deny on the request's single approval stage."""
    if stage_id.lower() != request["stage_id"]:
        raise not_found(stage_id)
    if not is_approver(approvers_of(store, request), approver_id):
        raise denied("Only an approver of this access package's policy may decide this request.")
    if is_own(request, approver_id):
        # Separation of duties, as in Entra ID Governance: a requestor never decides their own request,
        # even as one of its approvers (unverified wording; another approver, or cancel, is the way).
        raise denied(
            "Approvers cannot approve or deny their own requests: another approver of this access "
            "package's policy must decide it, or the requestor can cancel it."
        )
    outcome = _RESULTS.get(str(result).lower())
    if outcome is None:
        raise bad_request("reviewResult must be Approve or Deny.")
    if request["state"] != "pendingApproval" or request["review_result"] != "NotReviewed":
        raise GraphError(409, "Conflict", "This request has already been decided.")
    now = store.now()
    with store.transaction() as db:
        db.execute(
            "UPDATE graph_package_requests SET review_result = ?, reviewed_by = ?, reviewed = ?,"
            " review_justification = ? WHERE id = ?",
            (outcome, approver_id.lower(), now, justification, request["id"]),
        )
        if outcome == "Denied":
            db.execute(
                "UPDATE graph_package_requests SET state = 'denied', status = 'Denied', completed = ? WHERE id = ?",
                (now, request["id"]),
            )
        else:
            db.execute(
                "UPDATE graph_package_requests SET state = 'delivering', status = 'Delivering' WHERE id = ?",
                (request["id"],),
            )
            _deliver(store, request_row(store, request["id"]))
