"""The local vault's entitlement-management API through kvnb's Graph client: packages, requests, approvals."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError

from kvnb.graph import GraphClient, GraphPermissionError
from kvnb.local.seed.scenario import FIRST_VAULT

EM = "/identityGovernance/entitlementManagement"


def graph_as(vault, persona: str) -> GraphClient:
    return vault._track(GraphClient(vault.url, vault.credential(persona), connection_verify=vault.ca))


def packages_by_group(graph: GraphClient) -> dict[str, dict]:
    groups = {g["id"]: g["displayName"] for g in graph.list("/groups")}
    found = {}
    for package in graph.list(
        f"{EM}/accessPackages", params={"$expand": "resourceRoleScopes($expand=role,scope),assignmentPolicies"}
    ):
        scope = package["resourceRoleScopes"][0]["scope"]
        assert scope["originSystem"] == "AadGroup"
        found[groups[scope["originId"]]] = package
    return found


def test_one_package_per_key_vault_group_with_the_lead_as_approver(governed_vault):
    graph = graph_as(governed_vault, "member")  # any signed-in user sees the packages
    packages = packages_by_group(graph)
    assert set(packages) == {f"{FIRST_VAULT}_{s}" for s in ("admin", "reader", "secAccess")}
    lead_id = graph.get("/users/lead@kvnblocal.onmicrosoft.com")["id"]
    for package in packages.values():
        (policy,) = package["assignmentPolicies"]
        (stage,) = policy["requestApprovalSettings"]["stages"]
        assert policy["requestApprovalSettings"]["isApprovalRequiredForAdd"] is True
        assert stage["primaryApprovers"] == [
            {"@odata.type": "#microsoft.graph.singleUser", "userId": lead_id, "description": "Team Lead"}
        ]
    secaccess = packages[f"{FIRST_VAULT}_secAccess"]
    assert "Key Vault Secrets User" in secaccess["displayName"]
    policies = list(
        graph.list(f"{EM}/assignmentPolicies", params={"$filter": f"accessPackage/id eq '{secaccess['id']}'"})
    )
    assert [p["id"] for p in policies] == [secaccess["assignmentPolicies"][0]["id"]]
    role_scopes = list(graph.list(f"{EM}/accessPackages/{secaccess['id']}/resourceRoleScopes"))
    assert role_scopes[0]["role"]["displayName"] == "Member"


def test_seeded_request_waits_for_the_lead(governed_vault):
    lead = graph_as(governed_vault, "lead")
    pending = list(
        lead.list(
            f"{EM}/assignmentRequests/filterByCurrentUser(on='approver')", params={"$expand": "requestor,accessPackage"}
        )
    )
    assert len(pending) == 1
    (request,) = pending
    assert (request["requestType"], request["state"], request["status"]) == (
        "userAdd",
        "pendingApproval",
        "PendingApproval",
    )
    assert request["requestor"]["principalName"] == "newmember@kvnblocal.onmicrosoft.com"
    assert "secAccess" in request["accessPackage"]["displayName"]
    approvals = list(lead.list(f"{EM}/accessPackageAssignmentApprovals/filterByCurrentUser(on='approver')"))
    assert [a["id"] for a in approvals] == [request["id"]]
    (stage,) = approvals[0]["stages"]
    assert (stage["reviewResult"], stage["status"], stage["assignedToMe"]) == ("NotReviewed", "InProgress", True)
    mine = list(graph_as(governed_vault, "newmember").list(f"{EM}/assignmentRequests/filterByCurrentUser(on='target')"))
    assert [r["id"] for r in mine] == [request["id"]]
    assert (
        list(graph_as(governed_vault, "member").list(f"{EM}/assignmentRequests/filterByCurrentUser(on='approver')"))
        == []
    )


def test_user_add_then_approval_delivers_membership(governed_vault):
    member, lead = graph_as(governed_vault, "member"), graph_as(governed_vault, "lead")
    admin_package = packages_by_group(member)[f"{FIRST_VAULT}_admin"]
    created = member.post(
        f"{EM}/assignmentRequests",
        {
            "requestType": "userAdd",
            "justification": "on call next week",
            "assignment": {
                "accessPackageId": admin_package["id"],
                "assignmentPolicyId": admin_package["assignmentPolicies"][0]["id"],
            },
        },
    )
    assert (created["state"], created["status"]) == ("submitted", "Accepted")  # accepted first, processed later
    with pytest.raises(HttpResponseError) as info:  # a second open request for the same package
        member.post(
            f"{EM}/assignmentRequests",
            {"requestType": "userAdd", "assignment": {"accessPackageId": admin_package["id"]}},
        )
    assert info.value.error.code == "ExistingOpenRequest"
    approval = lead.get(f"{EM}/accessPackageAssignmentApprovals/{created['id']}")
    stage_path = f"{EM}/accessPackageAssignmentApprovals/{created['id']}/stages/{approval['stages'][0]['id']}"
    with pytest.raises(GraphPermissionError):  # the requester cannot approve themselves
        member.patch(stage_path, {"reviewResult": "Approve"})
    lead.patch(stage_path, {"reviewResult": "Approve", "justification": "OK"})
    with pytest.raises(ResourceExistsError):
        lead.patch(stage_path, {"reviewResult": "Deny"})
    done = lead.get(f"{EM}/assignmentRequests/{created['id']}", params={"$expand": "assignment"})
    assert (done["state"], done["status"]) == ("delivered", "Delivered") and done["completedDateTime"]
    assert done["assignment"]["state"] == "delivered"
    stage = lead.get(stage_path)
    assert (stage["reviewResult"], stage["status"]) == ("Approved", "Completed")
    groups = {g["displayName"] for g in member.list("/me/memberOf")}
    assert f"{FIRST_VAULT}_admin" in groups


def test_denial_leaves_membership_unchanged(governed_vault):
    lead = graph_as(governed_vault, "lead")
    (request,) = lead.list(f"{EM}/assignmentRequests/filterByCurrentUser(on='approver')")
    approval = lead.get(f"{EM}/accessPackageAssignmentApprovals/{request['id']}")
    lead.patch(
        f"{EM}/accessPackageAssignmentApprovals/{request['id']}/stages/{approval['stages'][0]['id']}",
        {"reviewResult": "Deny", "justification": "read access is enough for now"},
    )
    assert lead.get(f"{EM}/assignmentRequests/{request['id']}")["state"] == "denied"
    newmember = graph_as(governed_vault, "newmember")
    assert {g["displayName"] for g in newmember.list("/me/memberOf")} == {f"{FIRST_VAULT}_reader"}


def test_guests_and_applications_cannot_self_request(governed_vault):
    package = packages_by_group(graph_as(governed_vault, "lead"))[f"{FIRST_VAULT}_reader"]
    for persona in ("contractor", "pipeline"):
        with pytest.raises(GraphPermissionError):
            graph_as(governed_vault, persona).post(
                f"{EM}/assignmentRequests", {"requestType": "userAdd", "assignment": {"accessPackageId": package["id"]}}
            )


def test_listing_every_request_needs_the_admin_role(governed_vault):
    assert (
        len(
            list(
                graph_as(governed_vault, "backup").list(
                    f"{EM}/assignmentRequests", params={"$filter": "state eq 'pendingApproval'"}
                )
            )
        )
        == 1
    )
    with pytest.raises(GraphPermissionError):
        list(graph_as(governed_vault, "member").list(f"{EM}/assignmentRequests"))


def test_admin_add_is_delivered_at_once_and_admin_remove_takes_it_back(governed_vault):
    lead = graph_as(governed_vault, "lead")
    package = packages_by_group(lead)[f"{FIRST_VAULT}_reader"]
    aad_team = lead.get("/users/aad-team@kvnblocal.onmicrosoft.com")["id"]
    added = lead.post(
        f"{EM}/assignmentRequests",
        {"requestType": "adminAdd", "assignment": {"accessPackageId": package["id"], "targetId": aad_team}},
    )
    request = lead.get(f"{EM}/assignmentRequests/{added['id']}", params={"$expand": "assignment"})
    assert request["state"] == "delivered"
    member_of = graph_as(governed_vault, "aad-team").list("/me/memberOf")
    assert f"{FIRST_VAULT}_reader" in {g["displayName"] for g in member_of}
    (assignment,) = lead.list(f"{EM}/assignments", params={"$expand": "target"})
    assert assignment["target"]["objectId"] == aad_team and assignment["state"] == "delivered"
    lead.post(f"{EM}/assignmentRequests", {"requestType": "adminRemove", "assignment": {"id": assignment["id"]}})
    member_of = graph_as(governed_vault, "aad-team").list("/me/memberOf")
    assert f"{FIRST_VAULT}_reader" not in {g["displayName"] for g in member_of}
    with pytest.raises(HttpResponseError) as info:
        lead.post(
            f"{EM}/assignmentRequests",
            {
                "requestType": "adminAdd",
                "assignment": {"accessPackageId": package["id"], "targetId": "00000000-0000-0000-0000-00000000abcd"},
            },
        )
    assert info.value.status_code == 404
    with pytest.raises(GraphPermissionError):
        graph_as(governed_vault, "member").post(
            f"{EM}/assignmentRequests",
            {"requestType": "adminAdd", "assignment": {"accessPackageId": package["id"], "targetId": aad_team}},
        )


def test_single_objects_policy_lists_stages_and_cancel(governed_vault):
    newmember, lead = graph_as(governed_vault, "newmember"), graph_as(governed_vault, "lead")
    (request,) = newmember.list(f"{EM}/assignmentRequests/filterByCurrentUser(on='target')")
    package = packages_by_group(lead)[f"{FIRST_VAULT}_secAccess"]
    assert newmember.get(f"{EM}/accessPackages/{package['id']}")["displayName"] == package["displayName"]
    (policy,) = newmember.list(f"{EM}/accessPackages/{package['id']}/assignmentPolicies")
    single = newmember.get(f"{EM}/assignmentPolicies/{policy['id']}", params={"$expand": "accessPackage"})
    assert single["accessPackage"]["id"] == package["id"]
    (stage,) = lead.list(f"{EM}/accessPackageAssignmentApprovals/{request['id']}/stages")
    assert stage["reviewResult"] == "NotReviewed"
    with pytest.raises(GraphPermissionError):  # the requester does not read the approver's side
        newmember.get(f"{EM}/accessPackageAssignmentApprovals/{request['id']}")
    newmember.post(f"{EM}/assignmentRequests/{request['id']}/cancel")
    assert newmember.get(f"{EM}/assignmentRequests/{request['id']}")["state"] == "canceled"
    assert list(lead.list(f"{EM}/accessPackageAssignmentApprovals/filterByCurrentUser(on='approver')")) == []
    with pytest.raises(ResourceExistsError):
        newmember.post(f"{EM}/assignmentRequests/{request['id']}/cancel")
