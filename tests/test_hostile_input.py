"""Hostile input against every surface of the local vault, each answered with that surface's 4xx shape:
JSON nested 100,000 deep or megabytes long, out-of-range ISO 8601 times and durations, ill-typed Graph
bodies, self-approval, unknown routes, and a forged ``Host`` header. Nothing answers 5xx and no one
request can poison a later listing (the autouse fixture also fails a test whose vault logged an error).
"""

from __future__ import annotations

import http.client
import json
import ssl
import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from armcalls import arm_client, arm_error, call, object_id, role_id, vault_id
from kvnb.graph import GraphClient, GraphPermissionError
from kvnb.local.identity import roles
from kvnb.local.seed.scenario import FIRST_VAULT

KEYVAULT_SCOPE = "https://vault.azure.net/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
EM = "/v1.0/identityGovernance/entitlementManagement"
REVIEWS = "/v1.0/identityGovernance/accessReviews/definitions"
DEPTH_BOMB = 100_000


def nested(depth: int, key: str = "tags", **outer) -> bytes:
    """A JSON object whose *key* holds arrays nested *depth* deep."""
    inner = "[" * depth + "]" * depth
    return (json.dumps(outer)[:-1] + (", " if outer else "") + f'"{key}": {inner}}}').encode()


def graph_as(vault, persona: str) -> GraphClient:
    return vault._track(GraphClient(vault.url, vault.credential(persona), connection_verify=vault.ca))


def assert_graph_error(status: int, document: dict, expected_status: int, code: str) -> None:
    assert status == expected_status, document
    error = document["error"]
    assert error["code"] == code and error["message"], document
    assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}


# -- JSON bodies: depth and size ------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [DEPTH_BOMB, 65])
def test_deeply_nested_json_gets_each_surfaces_400(local_vault, depth):
    status, document, _ = call(
        local_vault,
        "/secrets/deep?api-version=7.5",
        method="PUT",
        scope=KEYVAULT_SCOPE,
        body=nested(depth, value="not stored"),
    )
    assert (status, document["error"]["code"]) == (400, "BadParameter"), document
    assert "nest" in document["error"]["message"]

    path = (
        f"{vault_id(local_vault)}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
        "?api-version=2022-04-01"
    )
    status, document, _ = call(local_vault, path, method="PUT", body=nested(depth, key="properties"))
    assert (status, document["error"]["code"]) == (400, "InvalidRequestContent"), document

    status, document, _ = call(
        local_vault,
        f"{EM}/assignmentRequests",
        method="POST",
        scope=GRAPH_SCOPE,
        body=nested(depth, key="assignment", requestType="userAdd"),
    )
    assert_graph_error(status, document, 400, "BadRequest")

    # Nothing was stored, and the vault still answers.
    assert "deep" not in {s.name for s in local_vault.secret_client().list_properties_of_secrets()}


def test_json_nested_to_the_limit_is_still_read(local_vault):
    # 64 levels is ASP.NET's default MaxDepth, which the real services run on: the whole body counts.
    status, document, _ = call(
        local_vault,
        "/secrets/shallow?api-version=7.5",
        method="PUT",
        scope=KEYVAULT_SCOPE,
        body=nested(62, value="Sup3r'sécret<&>"),
    )
    # Tags must map strings to strings: read fine, then refused for what they are, not for the depth.
    assert (status, document["error"]["code"]) == (400, "BadParameter"), document
    assert "nest" not in document["error"]["message"]


def test_oversized_bodies_are_refused_before_they_are_read_whole(local_vault):
    big = b'{"value": "' + b"A" * (5 * 1024 * 1024) + b'"}'
    status, document, _ = call(
        local_vault, "/secrets/big?api-version=7.5", method="PUT", scope=KEYVAULT_SCOPE, body=big
    )
    assert status == 413 and document["error"]["code"] == "RequestEntityTooLarge", document
    path = (
        f"{vault_id(local_vault)}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
        "?api-version=2022-04-01"
    )
    status, document, _ = call(local_vault, path, method="PUT", body=big)
    assert status == 413 and document["error"]["code"] == "RequestEntityTooLarge", document
    status, document, _ = call(local_vault, f"{EM}/assignmentRequests", method="POST", scope=GRAPH_SCOPE, body=big)
    assert status == 413, document
    assert_graph_error(status, document, 413, "RequestEntityTooLarge")


def test_admin_bodies_are_bounded_too(local_vault):
    # Only the owner holds the admin token, but even they cannot make the vault answer 500 for everyone.
    port, token = local_vault.service.first_port, local_vault.service.admin_token
    context = ssl.create_default_context(cafile=local_vault.ca)
    for body in (nested(DEPTH_BOMB, key="advance_seconds"), b'{"advance_seconds": 1000000000000000}'):
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=context)
        try:
            connection.request(
                "POST",
                "/_kvnb/admin/clock",
                body=body,
                headers={"x-kvnb-admin-token": token, "content-type": "application/json"},
            )
            assert connection.getresponse().status == 400
        finally:
            connection.close()
    assert local_vault.secret_client().get_secret("APICaller").name == "APICaller"


# -- PIM times and durations ----------------------------------------------------------------------------
def schedule_request(local_vault, principal: str, schedule_info: dict, *, scope: str | None = None) -> dict:
    return {
        "properties": {
            "roleDefinitionId": role_id(local_vault, roles.KEY_VAULT_SECRETS_OFFICER),
            "principalId": principal,
            "requestType": "AdminAssign",
            "scheduleInfo": schedule_info,
        }
    }


def listings_answer(local_vault) -> None:
    """Every schedule and assignment listing at the vault still answers 200, for the lead and the reader."""
    vault = vault_id(local_vault)
    for persona in ("lead", "newmember"):
        client = arm_client(local_vault, persona)
        list(client.role_assignment_schedule_requests.list_for_scope(vault, filter="asTarget()"))
        list(client.role_assignment_schedules.list_for_scope(vault, filter="asTarget()"))
        list(client.role_assignment_schedule_instances.list_for_scope(vault, filter="asTarget()"))
    lead = arm_client(local_vault)
    assert list(lead.role_assignment_schedule_requests.list_for_scope(vault)) is not None
    assert list(lead.role_assignment_schedules.list_for_scope(vault))
    assert list(lead.role_assignment_schedule_instances.list_for_scope(vault))
    assert list(lead.role_assignments.list_for_scope(vault))


@pytest.mark.parametrize(
    "schedule_info",
    [
        {"expiration": {"type": "AfterDuration", "duration": "P999999999999D"}},
        {"expiration": {"type": "AfterDuration", "duration": "PT99999999999999999999H"}},
        {"startDateTime": "9999-12-31T23:59:59Z", "expiration": {"type": "AfterDuration", "duration": "PT1H"}},
        {"startDateTime": "0001-01-01T00:00:00Z", "expiration": {"type": "AfterDuration", "duration": "PT1H"}},
        {"expiration": {"type": "AfterDateTime", "endDateTime": "10000-01-01T00:00:00Z"}},
        {"expiration": {"type": "AfterDateTime", "endDateTime": "2026-13-45T99:00:00Z"}},
    ],
)
def test_out_of_range_times_get_arms_400_and_listings_keep_working(local_vault, schedule_info):
    # Raw calls: the SDK itself refuses to send some of these times.
    path = (
        f"{vault_id(local_vault)}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/"
        f"{uuid.uuid4()}?api-version=2020-10-01"
    )
    body = schedule_request(local_vault, object_id(local_vault, "member"), schedule_info)
    status, document, _ = call(local_vault, path, method="PUT", body=json.dumps(body).encode())
    assert status == 400 and document["error"]["code"] in ("InvalidScheduleInfo", "InvalidRequestContent"), document
    listings_answer(local_vault)


def test_a_grant_starting_at_the_last_representable_second_is_kept_and_listed(local_vault):
    lead = arm_client(local_vault)
    made = lead.role_assignment_schedule_requests.create(
        vault_id(local_vault),
        str(uuid.uuid4()),
        schedule_request(
            local_vault,
            object_id(local_vault, "member"),
            {"startDateTime": "9999-12-31T23:59:59Z", "expiration": {"type": "NoExpiration"}},
        ),
    )
    assert made.status == "ScheduleCreated"
    listings_answer(local_vault)


def test_one_unreadable_stored_row_does_not_break_listings(local_vault):
    lead = arm_client(local_vault)
    vault = vault_id(local_vault)
    made = lead.role_assignment_schedule_requests.create(
        vault,
        str(uuid.uuid4()),
        schedule_request(
            local_vault, object_id(local_vault, "member"), {"expiration": {"type": "AfterDuration", "duration": "PT8H"}}
        ),
    )
    # A row written by an older, laxer vault (or by hand): times no calendar can show.
    with local_vault.store.transaction() as db:
        db.execute(
            "UPDATE role_assignment_schedule_requests SET start_time = ?, end_time = ? WHERE name = ?",
            (10**15, 10**16, made.name),
        )
        db.execute("UPDATE role_assignments SET end_time = ? WHERE schedule_request = ?", (10**16, made.name))
    listings_answer(local_vault)
    names = {r.name for r in lead.role_assignment_schedule_requests.list_for_scope(vault)}
    assert made.name in names  # still listed, its unshowable times left out


# -- Graph bodies --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "settings",
    [
        {"recurrence": "x"},
        {"recurrence": {"pattern": "weekly"}},
        {"recurrence": {"pattern": {"type": "weekly", "interval": "4"}}},
        {"recurrence": {"pattern": {"type": "weekly", "interval": 10**30}}},
        {"recurrence": {"pattern": {"type": "weekly"}, "range": "noEnd"}},
        {"recurrence": {"pattern": {"type": "weekly"}, "range": {"type": "numbered", "numberOfOccurrences": "x"}}},
        {"recurrence": {"pattern": {"type": "weekly"}, "range": {"type": "endDate", "endDate": 20270101}}},
        {"recurrence": {"pattern": {"type": "weekly"}, "range": {"type": "endDate", "endDate": "99999-01-01"}}},
        {"instanceDurationInDays": "fourteen"},
        {"instanceDurationInDays": 10**30},
        {"autoApplyDecisionsEnabled": "yes"},
    ],
)
def test_review_definition_with_ill_typed_settings_gets_400(governed_vault, settings):
    lead = graph_as(governed_vault, "lead")
    group = next(g["id"] for g in lead.list("/groups") if g["displayName"] == f"{FIRST_VAULT}_pipeline")
    with pytest.raises(HttpResponseError) as info:
        lead.post(
            REVIEWS[len("/v1.0") :],
            {"displayName": "hostile", "scope": {"query": f"/groups/{group}/members"}, "settings": settings},
        )
    assert (info.value.status_code, info.value.error.code) == (400, "BadRequest")
    assert len(list(lead.list(REVIEWS[len("/v1.0") :]))) >= 1  # the listing still answers


@pytest.mark.parametrize(
    "body",
    [
        {"displayName": ["x"], "scope": {"query": "/groups/{group}/members"}},
        {"displayName": "x", "scope": "/groups/{group}/members"},
        {"displayName": "x", "scope": {"query": ["/groups/{group}/members"]}},
        {"displayName": "x", "scope": {"query": "/groups/{group}/members"}, "reviewers": [{"query": 5}]},
        {"displayName": "x", "scope": {"query": "/groups/{group}/members"}, "descriptionForAdmins": {"a": 1}},
    ],
)
def test_review_definition_with_ill_typed_fields_gets_400(governed_vault, body):
    lead = graph_as(governed_vault, "lead")
    group = next(g["id"] for g in lead.list("/groups") if g["displayName"] == f"{FIRST_VAULT}_pipeline")
    body = json.loads(json.dumps(body).replace("{group}", group))
    with pytest.raises(HttpResponseError) as info:
        lead.post(REVIEWS[len("/v1.0") :], body)
    assert (info.value.status_code, info.value.error.code) == (400, "BadRequest")


@pytest.mark.parametrize(
    "body",
    [
        {"requestType": ["userAdd"]},
        {"requestType": "userAdd", "assignment": {"accessPackageId": {"id": "x"}}},
        {"requestType": "userAdd", "assignment": {"accessPackageId": "{package}", "assignmentPolicyId": 7}},
        {"requestType": "userAdd", "assignment": {"accessPackageId": "{package}", "targetId": ["me"]}},
        {"requestType": "userAdd", "assignment": {"accessPackageId": "{package}"}, "justification": {"why": 1}},
        {"requestType": "adminRemove", "assignment": {"id": 12}},
    ],
)
def test_access_package_request_with_ill_typed_fields_gets_400(governed_vault, body):
    member = graph_as(governed_vault, "member")
    package = next(p["id"] for p in member.list(EM[len("/v1.0") :] + "/accessPackages") if "admin" in p["displayName"])
    body = json.loads(json.dumps(body).replace("{package}", package))
    with pytest.raises(HttpResponseError) as info:
        member.post(EM[len("/v1.0") :] + "/assignmentRequests", body)
    assert (info.value.status_code, info.value.error.code) == (400, "BadRequest")


def test_decisions_and_approvals_with_ill_typed_fields_get_400(governed_vault):
    lead = graph_as(governed_vault, "lead")
    (request,) = lead.list(EM[len("/v1.0") :] + "/assignmentRequests/filterByCurrentUser(on='approver')")
    approval = lead.get(EM[len("/v1.0") :] + f"/accessPackageAssignmentApprovals/{request['id']}")
    stage = (
        EM[len("/v1.0") :] + f"/accessPackageAssignmentApprovals/{request['id']}/stages/{approval['stages'][0]['id']}"
    )
    for body in ({"reviewResult": ["Approve"]}, {"reviewResult": "Approve", "justification": ["ok"]}):
        with pytest.raises(HttpResponseError) as info:
            lead.patch(stage, body)
        assert (info.value.status_code, info.value.error.code) == (400, "BadRequest")
    assert lead.get(stage)["reviewResult"] == "NotReviewed"
    definitions = list(lead.list(REVIEWS[len("/v1.0") :]))
    definition = definitions[0]["id"]
    instance = next(
        i for i in lead.list(f"{REVIEWS[len('/v1.0') :]}/{definition}/instances") if i["status"] == "InProgress"
    )
    batch = f"{REVIEWS[len('/v1.0') :]}/{definition}/instances/{instance['id']}/batchRecordDecisions"
    for body in (
        {"decision": {"x": 1}},
        {"decision": "Approve", "principalId": ["x"]},
        {"decision": "Approve", "justification": 5},
    ):
        with pytest.raises(HttpResponseError) as info:
            lead.post(batch, body)
        assert (info.value.status_code, info.value.error.code) == (400, "BadRequest")


# -- separation of duties -------------------------------------------------------------------------------
def test_nobody_approves_their_own_access_package_request(governed_vault):
    lead = graph_as(governed_vault, "lead")
    em = EM[len("/v1.0") :]
    package = next(
        p
        for p in lead.list(f"{em}/accessPackages")
        if p["displayName"].endswith("secAccess") or "secAccess" in p["displayName"]
    )
    created = lead.post(
        f"{em}/assignmentRequests",
        {"requestType": "userAdd", "justification": "rotation duty", "assignment": {"accessPackageId": package["id"]}},
    )
    approval = lead.get(f"{em}/accessPackageAssignmentApprovals/{created['id']}")
    stage = f"{em}/accessPackageAssignmentApprovals/{created['id']}/stages/{approval['stages'][0]['id']}"
    for verdict in ("Approve", "Deny"):
        with pytest.raises(GraphPermissionError) as info:
            lead.patch(stage, {"reviewResult": verdict, "justification": "it is me"})
        assert info.value.status_code == 403 and "own" in info.value.error.message
    state = lead.get(f"{em}/assignmentRequests/{created['id']}")
    assert (state["state"], state["status"]) == ("pendingApproval", "PendingApproval")
    assert f"{FIRST_VAULT}_secAccess" not in {g["displayName"] for g in lead.list("/me/memberOf")}
    assert lead.get(stage)["assignedToMe"] is False  # not offered to its own requestor


# -- unknown routes -------------------------------------------------------------------------------------
def test_unknown_routes_answer_the_error_shape_of_their_surface(local_vault):
    secrets = local_vault.secret_client()
    with (
        secrets.send_request(HttpRequest("GET", "/keys/k1?api-version=7.5")) as response,
        pytest.raises(HttpResponseError) as info,
    ):
        response.raise_for_status()
    assert info.value.status_code == 404 and info.value.error.code == "NotFound"
    assert response.headers["content-type"].startswith("application/json")

    arm = arm_client(local_vault)
    status, code, message = arm_error(
        lambda: list(arm.role_eligibility_schedule_requests.list_for_scope(vault_id(local_vault)))
    )
    assert status == 404 and code == "InvalidResourceType" and message
    status, document, _ = call(
        local_vault, f"/subscriptions/{local_vault.store.subscription_id}/resourceGroups?api-version=2022-09-01"
    )
    assert status == 404 and document["error"]["code"] and document["error"]["message"]

    graph = graph_as(local_vault, "lead")
    with pytest.raises(HttpResponseError) as info:
        graph.get("/applications")
    assert (info.value.status_code, info.value.error.code) == (400, "BadRequest")
    assert info.value.error.message == "Resource not found for the segment 'applications'."
    status, document, _ = call(local_vault, "/v1.0/users/lead@kvnblocal.onmicrosoft.com/photo", scope=GRAPH_SCOPE)
    assert_graph_error(status, document, 400, "BadRequest")
    # A known path with a method it does not have: still the surface's JSON, never text/plain.
    status, document, _ = call(local_vault, f"{EM}/accessPackages", method="DELETE", scope=GRAPH_SCOPE)
    assert status == 405 and document["error"]["code"]


# -- the Host header --------------------------------------------------------------------------------------
def raw_get(local_vault, path: str, host: str, scope: str) -> dict:
    token = local_vault.credential("lead").get_token(scope).token
    port = local_vault.service.first_port
    connection = http.client.HTTPSConnection(
        "127.0.0.1", port, timeout=30, context=ssl.create_default_context(cafile=local_vault.ca)
    )
    try:
        connection.putrequest("GET", path, skip_host=True)
        connection.putheader("Host", host)
        connection.putheader("Authorization", f"Bearer {token}")
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 200, response.read()[:300]
        return json.loads(response.read())
    finally:
        connection.close()


def test_a_forged_host_header_is_not_echoed_into_ids(local_vault):
    own = local_vault.url
    port = local_vault.service.first_port
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1:1", "vault.azure.net"):
        listed = raw_get(local_vault, "/secrets?api-version=7.5&maxresults=1", host, KEYVAULT_SCOPE)
        assert listed["value"][0]["id"].startswith(own + "/secrets/"), host
        assert listed["nextLink"].startswith(own + "/secrets?"), host
        users = raw_get(local_vault, "/v1.0/users?$top=1", host, GRAPH_SCOPE)
        assert users["@odata.nextLink"].startswith(own + "/v1.0/users?"), host
        assert users["@odata.context"].startswith(own + "/v1.0/"), host
        metadata = raw_get(local_vault, "/metadata/endpoints?api-version=2022-09-01", host, GRAPH_SCOPE)
        assert metadata["resourceManager"] == own + "/", host
    # The vault's own address, however the client spells it, is kept as called.
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        listed = raw_get(local_vault, "/secrets?api-version=7.5&maxresults=1", host, KEYVAULT_SCOPE)
        assert listed["value"][0]["id"].startswith(f"https://{host}/secrets/"), host
