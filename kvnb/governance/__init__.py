"""kvnb.governance: access requests and 60-day access reviews through Microsoft Graph.

The same code drives Entra ID on Azure and the local vault's Graph subset, through `kvnb.graph`
(a small client on azure-core's pipeline)::

    from kvnb import open_vault
    from kvnb.governance import request_access, list_pending_approvals, approve_request, review_status

    me = open_vault("local", persona="newmember")
    request_access(me, role="Key Vault Secrets User", justification="partner API client")
    lead = open_vault("local", persona="lead")
    for request_id in list_pending_approvals(lead)["request_id"]:
        approve_request(lead, request_id)
    review_status(lead)                       # one row per group holding a role on the vault

Module map: `requests` (access packages and requests), `reviews` (status, decisions, applying),
`errors` (errors and `Limitation`). Principals (getByIds, groups, membership) are the access
layer's one Graph principal layer, `kvnb.access.graph_principals`, re-exported here.
"""

from __future__ import annotations

from kvnb.access.graph_principals import (
    PRINCIPAL_COLUMNS,
    find_group,
    get_principals,
    graph_resolver,
    group_members,
    member_of,
    principals_frame,
    transitive_groups,
)

# DirectoryPrincipal: the governance layer's name for the one principal type, kept for code written against it.
from kvnb.access.principals import PrincipalInfo as DirectoryPrincipal

from .errors import (
    AccessPackageNotFoundError,
    GovernanceError,
    GroupNotFoundError,
    Limitation,
    MissingGraphPermissionError,
    ReviewNotFoundError,
    degrade,
)
from .requests import (
    PACKAGE_COLUMNS,
    REQUEST_COLUMNS,
    AccessPackage,
    AccessRequest,
    access_package_name,
    approve_request,
    deny_request,
    find_access_package,
    get_access_packages,
    get_access_request,
    list_access_packages,
    list_my_requests,
    list_pending_approvals,
    package_or_role,
    request_access,
    wait_for_delivery,
)
from .reviews import (
    DECISION_COLUMNS,
    STATUS_COLUMNS,
    STATUSES,
    apply_review_decisions,
    complete_review,
    derive_status,
    latest_review_decisions,
    record_decisions,
    review_decisions,
    review_status,
    role_holding_groups,
)

__all__ = [
    "AccessPackage",
    "AccessPackageNotFoundError",
    "AccessRequest",
    "DECISION_COLUMNS",
    "DirectoryPrincipal",
    "GovernanceError",
    "GroupNotFoundError",
    "Limitation",
    "MissingGraphPermissionError",
    "PACKAGE_COLUMNS",
    "PRINCIPAL_COLUMNS",
    "REQUEST_COLUMNS",
    "ReviewNotFoundError",
    "STATUSES",
    "STATUS_COLUMNS",
    "access_package_name",
    "apply_review_decisions",
    "approve_request",
    "complete_review",
    "degrade",
    "deny_request",
    "derive_status",
    "find_access_package",
    "find_group",
    "get_access_packages",
    "get_access_request",
    "get_principals",
    "graph_resolver",
    "group_members",
    "latest_review_decisions",
    "list_access_packages",
    "list_my_requests",
    "list_pending_approvals",
    "member_of",
    "package_or_role",
    "principals_frame",
    "record_decisions",
    "request_access",
    "review_decisions",
    "review_status",
    "role_holding_groups",
    "transitive_groups",
    "wait_for_delivery",
]
