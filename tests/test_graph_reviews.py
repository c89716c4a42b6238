"""The local vault's access-review API through kvnb's Graph client: shapes, life cycle, who may do what."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError

from kvnb.graph import GraphClient, GraphPermissionError
from kvnb.local.seed.scenario import FIRST_VAULT
from kvnb.local.state.directory import Directory

DEFINITIONS = "/identityGovernance/accessReviews/definitions"
DAY = 86400


def graph_as(vault, persona: str) -> GraphClient:
    return vault._track(GraphClient(vault.url, vault.credential(persona), connection_verify=vault.ca))


def definition_for(graph: GraphClient, suffix: str) -> dict:
    groups = {g["displayName"]: g["id"] for g in graph.list("/groups")}
    group_id = groups[f"{FIRST_VAULT}_{suffix}"]
    found = [d for d in graph.list(DEFINITIONS) if d["scope"]["query"] == f"/groups/{group_id}/transitiveMembers"]
    assert len(found) == 1
    return found[0]


def test_seeded_definitions_recur_every_two_months(governed_vault):
    graph = graph_as(governed_vault, "lead")
    definitions = list(graph.list(DEFINITIONS))
    assert len(definitions) == 3
    for definition in definitions:
        assert definition["settings"]["recurrence"]["pattern"] == {
            "type": "absoluteMonthly",
            "interval": 2,
            "dayOfMonth": 0,
        }
        assert definition["settings"]["autoApplyDecisionsEnabled"] is False
        assert definition["scope"]["@odata.type"] == "#microsoft.graph.accessReviewQueryScope"
        assert definition["createdBy"]["userPrincipalName"] == "lead@kvnblocal.onmicrosoft.com"
        assert definition["status"] == "InProgress"
        assert definition["createdDateTime"].endswith("Z")


def test_instances_and_decisions_have_entras_shapes(governed_vault):
    graph = graph_as(governed_vault, "lead")
    sec = definition_for(graph, "secAccess")
    instances = list(graph.list(f"{DEFINITIONS}/{sec['id']}/instances"))
    assert [i["status"] for i in instances] == ["Applied", "Completed"]
    last = instances[-1]
    decisions = list(graph.list(f"{DEFINITIONS}/{sec['id']}/instances/{last['id']}/decisions"))
    by_name = {d["principal"]["displayName"]: d for d in decisions}
    assert set(by_name) == {"Team Member", "External Contractor", "Former Team Member"}
    deny = by_name["External Contractor"]
    assert (deny["decision"], deny["applyResult"], deny["recommendation"]) == ("Deny", "New", "NoInfoAvailable")
    assert deny["principal"]["@odata.type"] == "#microsoft.graph.userIdentity"
    assert deny["reviewedBy"]["userPrincipalName"] == "lead@kvnblocal.onmicrosoft.com"
    assert deny["resource"]["type"] == "group" and deny["accessReviewId"] == last["id"]
    leaver = by_name["Former Team Member"]
    assert (leaver["decision"], leaver["recommendation"]) == ("NotReviewed", "Deny")
    assert leaver["reviewedBy"]["id"] == "00000000-0000-0000-0000-000000000000"
    denies = list(
        graph.list(
            f"{DEFINITIONS}/{sec['id']}/instances/{last['id']}/decisions", params={"$filter": "decision eq 'Deny'"}
        )
    )
    assert [d["id"] for d in denies] == [deny["id"]]


def test_decisions_page_with_top(governed_vault):
    graph = graph_as(governed_vault, "lead")
    reader = definition_for(graph, "reader")
    instances = graph.list(f"{DEFINITIONS}/{reader['id']}/instances")
    open_instance = next(i for i in instances if i["status"] == "InProgress")
    pages = [
        list(p)
        for p in graph.list(f"{DEFINITIONS}/{reader['id']}/instances/{open_instance['id']}/decisions", top=2).by_page()
    ]
    assert [len(p) for p in pages] == [2, 2, 2, 1]  # the reader group's seven members


def test_reading_reviews_needs_a_reviewer_or_the_admin_group(governed_vault):
    assert len(list(graph_as(governed_vault, "backup").list(DEFINITIONS))) == 3  # admin group: governance admin
    with pytest.raises(GraphPermissionError) as info:
        list(graph_as(governed_vault, "member").list(DEFINITIONS))
    assert info.value.error.code == "Authorization_RequestDenied"
    sec = definition_for(graph_as(governed_vault, "lead"), "secAccess")
    with pytest.raises(GraphPermissionError):
        graph_as(governed_vault, "newmember").get(f"{DEFINITIONS}/{sec['id']}")


def test_only_reviewers_record_decisions_and_only_while_open(governed_vault):
    lead, backup = graph_as(governed_vault, "lead"), graph_as(governed_vault, "backup")
    reader = definition_for(lead, "reader")
    instances = list(lead.list(f"{DEFINITIONS}/{reader['id']}/instances"))
    open_instance = next(i for i in instances if i["status"] == "InProgress")
    base = f"{DEFINITIONS}/{reader['id']}/instances/{open_instance['id']}/decisions"
    decision = next(d for d in lead.list(base) if d["principal"]["displayName"] == "External Contractor")
    with pytest.raises(GraphPermissionError):  # backup may read (admin role) but is no reviewer
        backup.patch(f"{base}/{decision['id']}", {"decision": "Approve", "justification": "ok"})
    lead.patch(f"{base}/{decision['id']}", {"decision": "Deny", "justification": "guest, contract over"})
    recorded = lead.get(f"{base}/{decision['id']}")
    assert (recorded["decision"], recorded["justification"]) == ("Deny", "guest, contract over")
    assert recorded["reviewedBy"]["displayName"] == "Team Lead" and recorded["reviewedDateTime"]
    with pytest.raises(HttpResponseError) as info:
        lead.patch(f"{base}/{decision['id']}", {"decision": "Maybe"})
    assert info.value.status_code == 400
    closed = next(i for i in instances if i["status"] != "InProgress")
    closed_decision = next(lead.list(f"{DEFINITIONS}/{reader['id']}/instances/{closed['id']}/decisions"))
    with pytest.raises(ResourceExistsError):
        lead.patch(
            f"{DEFINITIONS}/{reader['id']}/instances/{closed['id']}/decisions/{closed_decision['id']}",
            {"decision": "Deny"},
        )


def test_stop_then_apply_removes_denied_members(governed_vault):
    lead = graph_as(governed_vault, "lead")
    reader = definition_for(lead, "reader")
    open_instance = next(i for i in lead.list(f"{DEFINITIONS}/{reader['id']}/instances") if i["status"] == "InProgress")
    path = f"{DEFINITIONS}/{reader['id']}/instances/{open_instance['id']}"
    lead.post(f"{path}/batchRecordDecisions", {"decision": "Approve", "justification": "still on the team"})
    leaver = next(d for d in lead.list(f"{path}/decisions") if d["principal"]["displayName"] == "Former Team Member")
    lead.patch(f"{path}/decisions/{leaver['id']}", {"decision": "Deny", "justification": "left the company"})
    with pytest.raises(ResourceExistsError):  # not completed yet
        lead.post(f"{path}/applyDecisions")
    lead.post(f"{path}/stop")
    stopped = lead.get(path)
    assert stopped["status"] == "Completed"
    lead.post(f"{path}/applyDecisions")
    assert lead.get(path)["status"] in ("Applying", "Applied")
    results = {d["principal"]["displayName"]: d["applyResult"] for d in lead.list(f"{path}/decisions")}
    assert results["Former Team Member"] == "AppliedSuccessfully"
    members = Directory(governed_vault.store).members(reader["scope"]["query"].split("/")[2])
    assert "leaver" not in {m.handle for m in members} and "member" in {m.handle for m in members}
    governed_vault.admin("clock", {"advance_seconds": 5})
    assert lead.get(path)["status"] == "Applied"


def test_creating_a_review_starts_an_instance_and_recurrence_follows_the_clock(governed_vault):
    lead = graph_as(governed_vault, "lead")
    groups = {g["displayName"]: g["id"] for g in lead.list("/groups")}
    pipeline = groups[f"{FIRST_VAULT}_pipeline"]
    lead_id = lead.get("/me")["id"]
    created = lead.post(
        DEFINITIONS,
        {
            "displayName": "Pipeline group review",
            "scope": {
                "@odata.type": "#microsoft.graph.accessReviewQueryScope",
                "query": f"/groups/{pipeline}/transitiveMembers",
                "queryType": "MicrosoftGraph",
            },
            "reviewers": [{"query": f"/users/{lead_id}", "queryType": "MicrosoftGraph"}],
            "settings": {
                "instanceDurationInDays": 3,
                "recurrence": {"pattern": {"type": "weekly", "interval": 4}, "range": {"type": "noEnd"}},
            },
        },
    )
    assert created["status"] == "InProgress"
    path = f"{DEFINITIONS}/{created['id']}/instances"
    first = list(lead.list(path))
    assert [i["status"] for i in first] == ["InProgress"]
    decisions = list(lead.list(f"{path}/{first[0]['id']}/decisions"))
    assert [d["principal"]["@odata.type"] for d in decisions] == ["#microsoft.graph.servicePrincipalIdentity"]
    governed_vault.admin("clock", {"advance_seconds": 29 * DAY})  # past the 3-day instance and one 4-week step
    after = list(lead.list(path))
    assert [i["status"] for i in after] == ["Completed", "InProgress"]
    with pytest.raises(GraphPermissionError):
        graph_as(governed_vault, "member").post(DEFINITIONS, {"displayName": "x"})
    with pytest.raises(HttpResponseError) as info:
        lead.post(
            DEFINITIONS,
            {
                "displayName": "daily",
                "scope": {"query": f"/groups/{pipeline}/members"},
                "settings": {"recurrence": {"pattern": {"type": "daily"}}},
            },
        )
    assert info.value.status_code == 400
