"""kvnb's Graph client against the local vault's directory: users, groups, members, getByIds, paging."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

from kvnb.graph import GraphClient, GraphPermissionError
from kvnb.local.seed.scenario import FIRST_VAULT

USERS = {"lead", "backup", "member", "newmember", "aad-team", "contractor", "leaver", "shortcut"}


@pytest.fixture
def graph(local_vault):
    """kvnb's Graph client acting as the lead."""
    client = GraphClient(local_vault.url, local_vault.credential("lead"), connection_verify=local_vault.ca)
    yield client
    client.close()


def graph_as(local_vault, persona: str) -> GraphClient:
    return local_vault._track(
        GraphClient(local_vault.url, local_vault.credential(persona), connection_verify=local_vault.ca)
    )


def handle(upn: str) -> str:
    return upn.split("@")[0]


def test_users_page_across_absolute_next_links(graph, local_vault):
    pages = list(graph.list("/users", top=3).by_page())
    pages = [list(page) for page in pages]
    assert [len(p) for p in pages] == [3, 3, 2]
    assert {handle(u["userPrincipalName"]) for p in pages for u in p} == USERS
    first = graph.get("/users", params={"$top": 3})
    assert first["@odata.nextLink"].startswith(f"{local_vault.url}/v1.0/users?")
    assert "$skiptoken=" in first["@odata.nextLink"] and "$top=3" in first["@odata.nextLink"]
    assert "@odata.nextLink" not in graph.get("/users")  # default page size holds all eight


def test_users_default_properties_and_select(graph):
    lead = graph.get("/users/lead@kvnblocal.onmicrosoft.com")
    assert lead["displayName"] == "Team Lead" and "accountEnabled" not in lead  # not in Graph's default set
    chosen = graph.list("/users", params={"$select": "id,userPrincipalName,accountEnabled,userType"})
    by_handle = {handle(u["userPrincipalName"]): u for u in chosen}
    assert by_handle["leaver"]["accountEnabled"] is False
    assert by_handle["contractor"]["userType"] == "Guest"
    assert set(by_handle["lead"]) == {"id", "userPrincipalName", "accountEnabled", "userType"}


def test_user_filters_by_principal_name_and_display_name(graph):
    found = list(graph.list("/users", params={"$filter": "userPrincipalName eq 'member@kvnblocal.onmicrosoft.com'"}))
    assert [u["displayName"] for u in found] == ["Team Member"]
    found = list(graph.list("/users", params={"$filter": "startswith(displayName,'team')"}))
    assert sorted(u["displayName"] for u in found) == ["Team Lead", "Team Member"]
    with pytest.raises(HttpResponseError) as info:
        graph.get("/users", params={"$filter": "jobTitle ne 'x'"})
    assert info.value.status_code == 400 and info.value.error.code == "Request_UnsupportedQuery"


def test_unknown_user_is_404_in_graphs_shape(graph):
    with pytest.raises(ResourceNotFoundError) as info:
        graph.get(f"/users/{uuid.uuid4()}")
    assert info.value.error.code == "Request_ResourceNotFound"
    body = info.value.response.json()["error"]
    assert set(body["innerError"]) == {"date", "request-id", "client-request-id"}


def test_group_members_direct_and_transitive(graph, local_vault):
    groups = {g["displayName"]: g["id"] for g in graph.list("/groups")}
    expected = {f"{FIRST_VAULT}_{s}" for s in ("admin", "reader", "secAccess", "pipeline")} | {"AzureAD team"}
    assert set(groups) == expected
    sec = groups[f"{FIRST_VAULT}_secAccess"]
    members = list(graph.list(f"/groups/{sec}/members"))
    assert {m["displayName"] for m in members} == {"Team Member", "External Contractor", "Former Team Member"}
    assert all(m["@odata.type"] == "#microsoft.graph.user" for m in members)
    pipeline = list(graph.list(f"/groups/{groups[f'{FIRST_VAULT}_pipeline']}/members"))
    assert [m["@odata.type"] for m in pipeline] == ["#microsoft.graph.servicePrincipal"]
    # Nest the pipeline group inside secAccess: transitive members include its service principal.
    from kvnb.local.state.directory import Directory

    Directory(local_vault.store).add_member(sec, groups[f"{FIRST_VAULT}_pipeline"])
    direct = {m["displayName"] for m in graph.list(f"/groups/{sec}/members")}
    nested = {m["displayName"] for m in graph.list(f"/groups/{sec}/transitiveMembers", top=2)}
    assert f"{FIRST_VAULT}_pipeline" in direct and "Build Pipeline (azure-devops)" not in direct
    assert {"Build Pipeline (azure-devops)", f"{FIRST_VAULT}_pipeline", "Team Member"} <= nested


def test_member_of_and_transitive_member_of_for_users_and_me(local_vault):
    graph = graph_as(local_vault, "member")
    mine = {g["displayName"] for g in graph.list("/me/transitiveMemberOf")}
    assert mine == {f"{FIRST_VAULT}_reader", f"{FIRST_VAULT}_secAccess"}
    me = graph.get("/me")
    assert me["userPrincipalName"] == "member@kvnblocal.onmicrosoft.com"
    lead_id = graph.get("/users/lead@kvnblocal.onmicrosoft.com")["id"]
    assert {g["displayName"] for g in graph.list(f"/users/{lead_id}/memberOf")} == {
        f"{FIRST_VAULT}_admin",
        f"{FIRST_VAULT}_reader",
    }


def test_me_needs_a_user_token(local_vault):
    graph = graph_as(local_vault, "pipeline")
    with pytest.raises(HttpResponseError) as info:
        graph.get("/me")
    assert info.value.status_code == 400
    # …but the service principal may read the directory (every signed-in identity may).
    assert any(g["displayName"] == f"{FIRST_VAULT}_pipeline" for g in graph.list("/groups"))


def test_get_by_ids_returns_full_objects_and_skips_unknown_ids(graph):
    users = {handle(u["userPrincipalName"]): u["id"] for u in graph.list("/users")}
    pipeline = next(graph.list("/servicePrincipals"))
    unknown = str(uuid.uuid4())
    answer = graph.post(
        "/directoryObjects/getByIds",
        {
            "ids": [users["contractor"], users["leaver"], pipeline["id"], unknown],
            "types": ["user", "group", "servicePrincipal"],
        },
    )
    by_id = {o["id"]: o for o in answer["value"]}
    assert set(by_id) == {users["contractor"], users["leaver"], pipeline["id"]}
    assert by_id[users["contractor"]]["userType"] == "Guest"
    assert by_id[users["leaver"]]["accountEnabled"] is False
    assert by_id[pipeline["id"]]["@odata.type"] == "#microsoft.graph.servicePrincipal"
    only_groups = graph.post("/directoryObjects/getByIds", {"ids": [users["lead"]], "types": ["group"]})
    assert only_groups["value"] == []


def test_get_by_ids_refuses_more_than_a_thousand_ids(graph):
    with pytest.raises(HttpResponseError) as info:
        graph.post("/directoryObjects/getByIds", {"ids": [str(uuid.uuid4()) for _ in range(1001)]})
    assert info.value.status_code == 400


def test_service_principal_lookup_the_azure_cli_way(graph):
    pipeline = next(graph.list("/servicePrincipals"))
    app_id = pipeline["appId"]
    found = list(graph.list("/servicePrincipals", params={"$filter": f"servicePrincipalNames/any(c:c eq '{app_id}')"}))
    assert [sp["id"] for sp in found] == [pipeline["id"]]
    # A user's object id is no service principal name: the CLI then falls back to getByIds.
    lead_id = graph.get("/users/lead@kvnblocal.onmicrosoft.com")["id"]
    assert (
        list(graph.list("/servicePrincipals", params={"$filter": f"servicePrincipalNames/any(c:c eq '{lead_id}')"}))
        == []
    )


def test_no_token_wrong_audience_and_garbage_get_401_with_challenge(local_vault):
    import requests

    url = f"{local_vault.url}/v1.0/users"
    missing = requests.get(url, verify=local_vault.ca, timeout=10)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert missing.json()["error"]["message"] == "Access token is empty."
    assert missing.headers["WWW-Authenticate"].startswith("Bearer ")
    vault_token = local_vault.credential("lead").get_token("https://vault.azure.net/.default").token
    wrong = requests.get(url, headers={"Authorization": f"Bearer {vault_token}"}, verify=local_vault.ca, timeout=10)
    assert wrong.status_code == 401 and "audience" in wrong.json()["error"]["message"].lower()
    garbage = requests.get(url, headers={"Authorization": "Bearer abc.def.ghi"}, verify=local_vault.ca, timeout=10)
    assert garbage.status_code == 401


def test_client_raises_azure_core_errors(local_vault):
    class WrongAudience:
        def __init__(self, inner):
            self.inner = inner

        def get_token(self, *scopes, **kwargs):
            return self.inner.get_token("https://vault.azure.net/.default")

    graph = local_vault._track(
        GraphClient(
            local_vault.url,
            WrongAudience(local_vault.credential("lead")),
            connection_verify=local_vault.ca,
            retry_total=0,
        )
    )
    with pytest.raises(ClientAuthenticationError):
        graph.get("/users")
    assert issubclass(GraphPermissionError, HttpResponseError)


def test_next_link_to_another_origin_is_not_followed(graph, monkeypatch):
    def evil(method, url, body=None):
        class Answer:
            @staticmethod
            def json():
                return {"value": [{"id": "1"}], "@odata.nextLink": "https://attacker.example/v1.0/users?x=1"}

        return Answer()

    monkeypatch.setattr(graph, "_send", evil)
    with pytest.raises(HttpResponseError, match="another origin"):
        list(graph.list("/users"))


def test_service_time_follows_the_services_date_header(graph):
    from datetime import datetime, timezone
    from types import SimpleNamespace

    before = graph.service_time()
    assert abs((before - datetime.now(timezone.utc)).total_seconds()) < 5  # no response yet: the wall clock
    graph.get("/me")
    assert abs((graph.service_time() - datetime.now(timezone.utc)).total_seconds()) < 5
    answer = SimpleNamespace(http_response=SimpleNamespace(headers={"Date": "Sun, 06 Nov 1994 08:49:37 GMT"}))
    graph._clock.on_response(None, answer)
    assert graph.service_time().year == 1994 and graph.service_time().tzinfo is not None


def test_single_objects_and_transitive_member_of_by_id(graph, local_vault):
    from kvnb.local.state.directory import Directory

    directory = Directory(local_vault.store)
    sec = directory.principal_by_handle(f"{FIRST_VAULT}_secAccess")
    pipeline_group = directory.principal_by_handle(f"{FIRST_VAULT}_pipeline")
    pipeline = directory.principal_by_handle("pipeline")
    directory.add_member(sec.id, pipeline_group.id)
    assert graph.get(f"/groups/{sec.id}")["securityEnabled"] is True
    assert graph.get(f"/servicePrincipals/{pipeline.id}")["appId"] == pipeline.app_id
    assert graph.get(f"/directoryObjects/{pipeline.id}")["@odata.type"] == "#microsoft.graph.servicePrincipal"
    nested = {g["displayName"] for g in graph.list(f"/servicePrincipals/{pipeline.id}/transitiveMemberOf")}
    assert nested == {pipeline_group.display_name, sec.display_name}
    member = directory.principal_by_handle("member")
    assert {g["id"] for g in graph.list(f"/users/{member.id}/transitiveMemberOf")} == directory.transitive_groups(
        member.id
    )
    assert {g["displayName"] for g in graph.list(f"/groups/{pipeline_group.id}/memberOf")} == {sec.display_name}
    with pytest.raises(HttpResponseError) as info:
        graph.get("/groups/not-a-guid")
    assert info.value.status_code == 400
