"""Access requests through Entra access packages: a member asks, an approver decides, Entra delivers.

Each Key Vault group has an access package whose resource is the group's membership. A member
requests the package for a role (``request_access(vault, role="Key Vault Secrets User")`` finds the
package granting a group that holds the role on the vault); an approver lists what waits for them
(`list_pending_approvals`) and approves or denies through Graph v1.0's approval API
(``accessPackageAssignmentApprovals/{request}/stages/{stage}``). A request moves
``submitted`` → ``pendingApproval`` → ``delivering`` → ``delivered`` (or ``denied``); `wait_for_delivery`
follows it until the membership, and with it the data-plane access, is in place.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
from azure.core.exceptions import HttpResponseError, ResourceExistsError

from kvnb.errors import KvnbError
from kvnb.graph import GraphClient, GraphPermissionError, graph_for

from .errors import AccessPackageNotFoundError, GovernanceError, permission_error

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

EM = "/identityGovernance/entitlementManagement"
_EXPAND = "resourceRoleScopes($expand=role,scope),assignmentPolicies"
FINAL_STATES = frozenset({"delivered", "denied", "canceled", "deliveryFailed", "partiallyDelivered"})
PACKAGE_COLUMNS = ("package_id", "display_name", "description", "group_id", "policy_id", "approver_ids")
REQUEST_COLUMNS = (
    "request_id",
    "state",
    "status",
    "request_type",
    "package",
    "package_id",
    "requested_by",
    "requested_by_name",
    "justification",
    "created",
    "completed",
)


@dataclass(frozen=True)
class AccessPackage:
    id: str
    display_name: str
    description: str | None
    group_id: str | None  # the group whose membership the package grants
    policy_id: str | None
    approver_ids: tuple[str, ...]

    @classmethod
    def from_graph(cls, item: dict) -> AccessPackage:
        scopes = item.get("resourceRoleScopes") or []
        group = next(
            (
                s["scope"]["originId"].lower()
                for s in scopes
                if (s.get("scope") or {}).get("originSystem") == "AadGroup"
            ),
            None,
        )
        policies = item.get("assignmentPolicies") or []
        approvers = tuple(
            a["userId"].lower()
            for p in policies[:1]
            for stage in ((p.get("requestApprovalSettings") or {}).get("stages") or [])
            for a in stage.get("primaryApprovers") or []
            if a.get("userId")
        )
        return cls(
            id=item["id"],
            display_name=item.get("displayName", ""),
            description=item.get("description"),
            group_id=group,
            policy_id=policies[0]["id"] if policies else None,
            approver_ids=approvers,
        )


@dataclass(frozen=True)
class AccessRequest:
    id: str
    state: str
    status: str | None
    request_type: str | None
    package_id: str | None = None
    package_name: str | None = None
    created: pd.Timestamp | None = None
    completed: pd.Timestamp | None = None

    @property
    def delivered(self) -> bool:
        return self.state == "delivered"

    @property
    def pending(self) -> bool:
        return self.state not in FINAL_STATES

    @classmethod
    def from_graph(cls, item: dict) -> AccessRequest:
        package = item.get("accessPackage") or {}
        return cls(
            id=item["id"],
            state=item.get("state") or "",
            status=item.get("status"),
            request_type=item.get("requestType"),
            package_id=package.get("id"),
            package_name=package.get("displayName"),
            created=_time(item.get("createdDateTime")),
            completed=_time(item.get("completedDateTime")),
        )


def _time(text: str | None):
    return pd.Timestamp(text).tz_convert("UTC") if text else None


def _call(fn, table: str):
    try:
        return fn()
    except GraphPermissionError as exc:
        raise permission_error(exc, table) from None


# -- packages ------------------------------------------------------------------------------------------------
def get_access_packages(target: VaultTarget, *, graph: GraphClient | None = None) -> list[AccessPackage]:
    """Every access package you may see, with its policy's approvers.

    Needs ``EntitlementManagement.Read.All`` or a catalog reader role on Azure.

    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403).
    """
    with graph_for(target, graph) as client:
        items = _call(lambda: list(client.list(f"{EM}/accessPackages", params={"$expand": _EXPAND})), "access_packages")
    return [AccessPackage.from_graph(item) for item in items]


def list_access_packages(target: VaultTarget, *, graph: GraphClient | None = None) -> pd.DataFrame:
    """`get_access_packages` as a DataFrame, `PACKAGE_COLUMNS`.

    Needs what `get_access_packages` needs.

    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403).
    """
    rows = [
        (p.id, p.display_name, p.description, p.group_id, p.policy_id, ", ".join(p.approver_ids))
        for p in get_access_packages(target, graph=graph)
    ]
    return pd.DataFrame(rows, columns=list(PACKAGE_COLUMNS))


def find_access_package(
    target: VaultTarget,
    *,
    role: str | None = None,
    group: str | None = None,
    package: str | None = None,
    graph: GraphClient | None = None,
) -> AccessPackage:
    """The package granting *role* on the vault (through a group holding it), or *group*, or named *package*.

    Needs what `get_access_packages` needs; with *role*,
    ``Microsoft.Authorization/roleAssignments/read`` at the vault too.

    :raises kvnb.errors.AccessPackageNotFoundError: no package, or several, match.
    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403).
    :raises kvnb.errors.PermissionMissingError: the vault's assignments could not be read (*role*).
    :raises ValueError: not exactly one of *role*, *group*, *package*.
    """
    if sum(x is not None for x in (role, group, package)) != 1:
        raise ValueError("Give exactly one of role=, group= or package=.")
    with graph_for(target, graph) as client:
        packages = get_access_packages(target, graph=client)
        if package is not None:
            found = [p for p in packages if package.lower() in (p.id.lower(), p.display_name.lower())]
            wanted = f"named {package!r}"
        elif group is not None:
            from kvnb.access.graph_principals import find_group

            group_id = find_group(target, group, graph=client).id
            found = [p for p in packages if p.group_id == group_id]
            wanted = f"for group {group!r}"
        else:
            from .reviews import role_holding_groups

            holders = {
                g
                for g, roles in role_holding_groups(target).items()
                if role.casefold() in (r.casefold() for r in roles)
            }
            found = [p for p in packages if p.group_id in holders]
            wanted = f"granting {role!r} on {target.name}"
    if not found:
        raise AccessPackageNotFoundError(
            f"No access package {wanted}. Ask the vault's owner which package to "
            "request, or to create one for the group."
        )
    if len(found) > 1:
        names = ", ".join(sorted(p.display_name for p in found))
        raise AccessPackageNotFoundError(f"Several access packages {wanted}: {names}. Pass package= to choose.")
    return found[0]


def access_package_name(target: VaultTarget, role: str) -> str | None:
    """The name of the one access package granting *role* on the vault, or None — a hint for a message.

    Needs what `find_access_package` needs (the vault's role assignments, the package list); when
    any of that is refused or missing the hint is simply left out, never turned into a new error.
    """
    from azure.core.exceptions import AzureError

    try:
        return find_access_package(target, role=role).display_name
    except (KvnbError, AzureError):
        return None


def package_or_role(target: VaultTarget, wanted: str, *, graph: GraphClient | None = None) -> dict:
    """``{"package": name}`` when *wanted* names an access package, else ``{"role": wanted}``: the
    keyword for `request_access`.

    Finding a package by role needs the vault's role assignments, which someone without any
    access (the AzureAD team) may not read; by name it needs only the package list.
    """
    folded = wanted.casefold()
    for package in get_access_packages(target, graph=graph):
        if folded in (package.display_name.casefold(), package.display_name.split(" (")[0].casefold()):
            return {"package": package.display_name}
    return {"role": wanted}


# -- requests ------------------------------------------------------------------------------------------------
def request_access(
    target: VaultTarget,
    *,
    justification: str,
    role: str | None = None,
    group: str | None = None,
    package: str | None = None,
    graph: GraphClient | None = None,
) -> AccessRequest:
    """Request an access package for yourself (``userAdd``); the approver decides later.

    Anyone may request a package its policy lets them request (``userAdd`` for yourself).

    :raises kvnb.errors.AccessPackageNotFoundError: as `find_access_package`.
    :raises kvnb.errors.GovernanceError: Entra refused the request (e.g. one is already open).
    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403).
    :raises ValueError: *justification* is empty.
    """
    if not justification or not justification.strip():
        raise ValueError("Say why you need the access (justification=): the approver reads it.")
    with graph_for(target, graph) as client:
        chosen = find_access_package(target, role=role, group=group, package=package, graph=client)
        body = {
            "requestType": "userAdd",
            "justification": justification.strip(),
            "assignment": {"accessPackageId": chosen.id, "assignmentPolicyId": chosen.policy_id},
        }
        try:
            created = client.post(f"{EM}/assignmentRequests", body)
        except GraphPermissionError as exc:
            raise permission_error(exc, "access_requests") from None
        except ResourceExistsError as exc:
            raise GovernanceError(getattr(exc.error, "message", None) or str(exc)) from None
        except HttpResponseError as exc:  # Graph's 400s (an open request, already assigned) say what is wrong
            message = getattr(exc.error, "message", None)
            if exc.status_code == 400 and message:
                raise GovernanceError(f"{message.rstrip('.')}: access package {chosen.display_name}.") from None
            raise
    return AccessRequest.from_graph({**created, "accessPackage": {"id": chosen.id, "displayName": chosen.display_name}})


def get_access_request(target: VaultTarget, request_id: str, *, graph: GraphClient | None = None) -> AccessRequest:
    """One access request, with its package's name.

    Needs to be its requestor or an approver of its package.

    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403).
    :raises azure.core.exceptions.ResourceNotFoundError: no such request.
    """
    with graph_for(target, graph) as client:
        item = _call(
            lambda: client.get(f"{EM}/assignmentRequests/{request_id}", params={"$expand": "accessPackage"}),
            "access_requests",
        )
    return AccessRequest.from_graph(item)


def _requests_frame(items: list[dict]) -> pd.DataFrame:
    rows = []
    for item in items:
        requestor = item.get("requestor") or {}
        package = item.get("accessPackage") or {}
        rows.append(
            (
                item["id"],
                item.get("state"),
                item.get("status"),
                item.get("requestType"),
                package.get("displayName"),
                package.get("id"),
                requestor.get("principalName"),
                requestor.get("displayName"),
                item.get("justification"),
                item.get("createdDateTime"),
                item.get("completedDateTime"),
            )
        )
    frame = pd.DataFrame(rows, columns=list(REQUEST_COLUMNS))
    for column in ("created", "completed"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _filtered(target: VaultTarget, on: str, graph: GraphClient | None) -> pd.DataFrame:
    with graph_for(target, graph) as client:
        items = _call(
            lambda: list(
                client.list(
                    f"{EM}/assignmentRequests/filterByCurrentUser(on='{on}')",
                    params={"$expand": "accessPackage,requestor"},
                )
            ),
            "access_requests",
        )
    return _requests_frame(items)


def list_my_requests(target: VaultTarget, *, graph: GraphClient | None = None) -> pd.DataFrame:
    """Requests for you (any state), `REQUEST_COLUMNS`.

    Anyone may list their own requests.

    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403).
    """
    return _filtered(target, "target", graph)


def list_pending_approvals(target: VaultTarget, *, graph: GraphClient | None = None) -> pd.DataFrame:
    """Requests waiting for your decision as an approver, `REQUEST_COLUMNS`.

    Needs to be an approver in a package's policy.

    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403).
    """
    return _filtered(target, "approver", graph)


def _decide(target: VaultTarget, request_id: str, result: str, justification: str | None, graph) -> AccessRequest:
    with graph_for(target, graph) as client:
        base = f"{EM}/accessPackageAssignmentApprovals/{request_id}"
        stages = _call(lambda: client.get(base), "access_requests").get("stages") or []
        open_stages = [s for s in stages if s.get("status") != "Completed" and s.get("reviewResult") == "NotReviewed"]
        if not open_stages:
            raise GovernanceError(f"Request {request_id} has no approval stage waiting for a decision.")
        body = {"reviewResult": result, "justification": justification or ""}
        try:
            client.patch(f"{base}/stages/{open_stages[0]['id']}", body)
        except GraphPermissionError as exc:
            raise permission_error(exc, "access_requests") from None
        except ResourceExistsError:
            raise GovernanceError(f"Request {request_id} was already decided by another approver.") from None
        return get_access_request(target, request_id, graph=client)


def approve_request(
    target: VaultTarget, request_id: str, *, justification: str | None = None, graph: GraphClient | None = None
) -> AccessRequest:
    """Approve as an approver of the package's policy; Entra then delivers the membership.

    Needs to be an approver named in the package's policy.

    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403): not an approver.
    :raises kvnb.errors.GovernanceError: the request was already decided.
    """
    return _decide(target, request_id, "Approve", justification, graph)


def deny_request(
    target: VaultTarget, request_id: str, *, justification: str | None = None, graph: GraphClient | None = None
) -> AccessRequest:
    """

    Deny as an approver of the package's policy; needs what `approve_request` needs.

    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403): not an approver.
    :raises kvnb.errors.GovernanceError: the request was already decided.
    """
    return _decide(target, request_id, "Deny", justification, graph)


def wait_for_delivery(
    target: VaultTarget,
    request_id: str,
    *,
    timeout: float = 120.0,
    interval: float = 2.0,
    graph: GraphClient | None = None,
) -> AccessRequest:
    """Poll until the request reaches a final state (on Azure delivery takes seconds to minutes).

    Needs what `get_access_request` needs; returns the request as it is after *timeout* seconds.

    :raises kvnb.errors.MissingGraphPermissionError: Graph refused (403).
    """
    deadline = time.monotonic() + timeout
    with graph_for(target, graph) as client:
        for _ in range(max(1, int(timeout / max(interval, 0.1)) + 1)):
            request = get_access_request(target, request_id, graph=client)
            if not request.pending or time.monotonic() >= deadline:
                return request
            time.sleep(interval)
    return request
