"""Access requests end to end: a new member asks for Secrets User, the lead approves, the data plane agrees."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from kvnb.governance import (
    AccessPackageNotFoundError,
    GovernanceError,
    MissingGraphPermissionError,
    approve_request,
    deny_request,
    find_access_package,
    list_access_packages,
    list_my_requests,
    list_pending_approvals,
    request_access,
    wait_for_delivery,
)
from kvnb.local.seed.scenario import FIRST_VAULT


def reads_api_caller(vault, persona: str) -> bool:
    try:
        return bool(vault.secret_client(persona).get_secret("APICaller").value)
    except HttpResponseError as exc:
        assert exc.status_code == 403, exc.status_code
        return False


def test_newmember_requests_secrets_user_and_reads_after_the_lead_approves(governed_vault, open_as):
    newmember, lead = open_as("newmember"), open_as("lead")
    # The seed's pending request is for the same package; clear it so this scenario starts from scratch.
    seeded = list_pending_approvals(lead)
    deny_request(lead, seeded.loc[0, "request_id"], justification="superseded")

    request = request_access(
        newmember, role="Key Vault Secrets User", justification="The partner API client needs APICaller."
    )
    assert request.state == "submitted" and "secAccess" in request.package_name
    assert not reads_api_caller(governed_vault, "newmember")

    pending = list_pending_approvals(lead)
    assert list(pending["request_id"]) == [request.id]
    assert pending.loc[0, "requested_by"] == "newmember@kvnblocal.onmicrosoft.com"
    assert str(pending["created"].dt.tz) == "UTC"
    decided = approve_request(lead, request.id, justification="welcome aboard")
    assert decided.state in ("delivering", "delivered")
    final = wait_for_delivery(newmember, request.id, timeout=10, interval=0.2)
    assert final.delivered and final.status == "Delivered"
    assert reads_api_caller(governed_vault, "newmember")
    mine = list_my_requests(newmember)
    assert set(mine["state"]) == {"denied", "delivered"}


def test_only_the_approver_may_decide(governed_vault, open_as):
    request_id = list_pending_approvals(open_as("lead")).loc[0, "request_id"]
    with pytest.raises(MissingGraphPermissionError) as info:
        approve_request(open_as("member"), request_id)
    assert "approver" in str(info.value)
    assert not reads_api_caller(governed_vault, "newmember")


def test_denied_request_grants_nothing(governed_vault, open_as):
    lead = open_as("lead")
    request_id = list_pending_approvals(lead).loc[0, "request_id"]
    assert deny_request(lead, request_id, justification="not yet").state == "denied"
    assert list_pending_approvals(lead).empty
    with pytest.raises(GovernanceError, match="no approval stage waiting"):
        approve_request(lead, request_id)
    assert not reads_api_caller(governed_vault, "newmember")


def test_package_lookup_by_role_group_or_name(governed_vault, open_as):
    member = open_as("member")
    packages = list_access_packages(member)
    assert len(packages) == 3 and packages["approver_ids"].str.len().gt(0).all()
    by_role = find_access_package(member, role="key vault administrator")
    assert by_role == find_access_package(member, group=f"{FIRST_VAULT}_admin")
    assert find_access_package(member, package=by_role.display_name) == by_role
    with pytest.raises(AccessPackageNotFoundError):
        find_access_package(member, role="Key Vault Secrets Officer")  # no group holds it
    with pytest.raises(GovernanceError, match="open request"):
        request_access(open_as("newmember"), role="Key Vault Secrets User", justification="again")
