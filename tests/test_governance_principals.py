"""Principals through Graph: getByIds in batches, orphans, nested membership, the access layer's resolver."""

from __future__ import annotations

import uuid

import pytest

from kvnb.governance import (
    PRINCIPAL_COLUMNS,
    GroupNotFoundError,
    find_group,
    get_principals,
    graph_resolver,
    group_members,
    member_of,
    principals_frame,
    transitive_groups,
)
from kvnb.graph import GraphClient
from kvnb.local.seed.scenario import FIRST_VAULT
from kvnb.local.state.directory import Directory
from kvnb.vault import open_vault


@pytest.fixture
def lead(local_vault, monkeypatch):
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    target = open_vault("local", persona="lead")
    yield target
    target.close()
    target.credential.close()


@pytest.fixture
def graph(lead):
    client = GraphClient.from_target(lead)
    yield client
    client.close()


def all_ids(vault) -> dict[str, str]:
    return {p.handle: p.id for p in Directory(vault.store).list_principals()}


def test_get_by_ids_in_batches_marks_unknown_ids(local_vault, lead, graph, monkeypatch):
    ids = all_ids(local_vault)
    orphan = str(uuid.uuid4())
    batches = []
    original = graph.post

    def counting(path, body=None):
        batches.append(len(body["ids"]))
        return original(path, body)

    monkeypatch.setattr(graph, "post", counting)
    wanted = list(ids.values()) + [orphan, ids["lead"].upper()]  # duplicates (any case) are asked once
    found = get_principals(lead, wanted, graph=graph, batch_size=4)
    assert batches == [4, 4, 4, 3]  # 15 distinct ids
    assert found[orphan].found is False and found[orphan].kind is None
    assert found[ids["contractor"]].user_type == "Guest"
    assert found[ids["leaver"]].enabled is False
    assert found[ids["pipeline"]].kind == "ServicePrincipal"
    assert found[ids["pipeline"]].app_id == Directory(local_vault.store).get(ids["pipeline"]).app_id
    assert found[ids[f"{FIRST_VAULT}_admin"]].kind == "Group"
    with pytest.raises(ValueError):
        get_principals(lead, wanted, graph=graph, batch_size=1001)


def test_principals_frame_keeps_the_documented_columns(local_vault, lead):
    ids = all_ids(local_vault)
    frame = principals_frame(lead, [ids["lead"], ids["contractor"]])
    assert tuple(frame.columns) == PRINCIPAL_COLUMNS
    assert list(frame["principal_name"]) == ["lead@kvnblocal.onmicrosoft.com", "contractor@kvnblocal.onmicrosoft.com"]
    assert list(frame["user_type"]) == ["Member", "Guest"]


def test_nested_membership_with_the_chain_that_explains_it(local_vault, lead, graph):
    ids = all_ids(local_vault)
    Directory(local_vault.store).add_member(ids[f"{FIRST_VAULT}_secAccess"], ids[f"{FIRST_VAULT}_pipeline"])
    pipeline_group, sec = ids[f"{FIRST_VAULT}_pipeline"], ids[f"{FIRST_VAULT}_secAccess"]
    chains = member_of(lead, ids["pipeline"], graph=graph)
    assert chains == {pipeline_group: (pipeline_group,), sec: (pipeline_group, sec)}
    frame = transitive_groups(lead, ids["pipeline"], graph=graph).set_index("display_name")
    assert frame.loc[f"{FIRST_VAULT}_secAccess", "via"] == f"{FIRST_VAULT}_pipeline → {FIRST_VAULT}_secAccess"
    members = group_members(lead, f"{FIRST_VAULT}_secAccess", graph=graph)
    assert "Build Pipeline (azure-devops)" in set(members["display_name"])
    direct = group_members(lead, f"{FIRST_VAULT}_secAccess", transitive=False, graph=graph)
    assert "Build Pipeline (azure-devops)" not in set(direct["display_name"])


def test_find_group_by_name_or_id(local_vault, lead, graph):
    ids = all_ids(local_vault)
    assert find_group(lead, "AzureAD team", graph=graph).id == ids["azuread-team"]
    assert find_group(lead, ids["azuread-team"], graph=graph).display_name == "AzureAD team"
    with pytest.raises(GroupNotFoundError):
        find_group(lead, ids["lead"], graph=graph)  # a user, not a group
    with pytest.raises(GroupNotFoundError):
        find_group(lead, "No Such Group", graph=graph)


def test_graph_resolver_drives_the_access_layers_effective_access(local_vault, lead, graph):
    from kvnb.access import effective_access

    resolver = graph_resolver(graph)
    (team,) = resolver.search("AzureAD team")
    assert team.kind == "Group"
    (member,) = resolver.search("member@kvnblocal.onmicrosoft.com")
    access = effective_access(lead, member.id, secret="APICaller", resolver=resolver)
    assert access.allows("get") and not access.allows("set")
    hows = {role.role_name: role.how for role in access.roles}
    assert hows["Key Vault Secrets User"] == f"through group {FIRST_VAULT}_secAccess"


def test_public_api_is_sorted_and_complete():
    import kvnb.governance as governance

    assert governance.__all__ == sorted(governance.__all__)
    assert all(hasattr(governance, name) for name in governance.__all__)
