"""The local tenant's directory: deterministic ids, principals, groups and transitive membership."""

from __future__ import annotations

import uuid

import pytest

from kvnb.local.state.directory import (
    GROUP,
    GUEST,
    SERVICE_PRINCIPAL,
    USER,
    Directory,
    DirectoryError,
    group_paths,
    object_id,
)
from kvnb.local.state.paths import StatePaths
from kvnb.local.state.store import Store


@pytest.fixture
def store(tmp_path):
    store = Store(StatePaths.resolve(tmp_path))
    yield store
    store.close()


@pytest.fixture
def directory(store):
    return Directory(store)


def test_object_id_is_uuid5_of_tenant_and_handle():
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    expected = str(uuid.uuid5(uuid.UUID(tenant), "lead"))
    assert object_id(tenant, "lead") == expected
    assert object_id(tenant, "LEAD") == expected  # handles are case-insensitive
    assert object_id(tenant, "backup") != expected
    assert object_id("11111111-1111-1111-1111-111111111111", "lead") != expected


def test_ids_survive_a_reset_of_the_database(tmp_path):
    first = Store(StatePaths.resolve(tmp_path / "a"))
    first.set_meta("tenant_id", "72f988bf-86f1-41af-91ab-2d7cd011db47")
    second = Store(StatePaths.resolve(tmp_path / "b"))
    second.set_meta("tenant_id", "72f988bf-86f1-41af-91ab-2d7cd011db47")
    assert Directory(first).create_user("lead", "Team Lead").id == Directory(second).create_user("lead", "Lead").id


def test_user_has_its_own_identity_header_and_defaults(directory):
    lead = directory.create_user("lead", "Team Lead")
    backup = directory.create_user("backup", "Backup Admin", upn="backup@contoso.com")
    assert lead.kind == USER and lead.user_type == "Member" and lead.enabled
    assert lead.upn.startswith("lead@")
    assert backup.upn == "backup@contoso.com"
    # Headers are credentials: compare them into booleans so a failure never prints one.
    distinct = bool(lead.identity_header and backup.identity_header) and lead.identity_header != backup.identity_header
    long_enough = len(lead.identity_header or "") >= 40  # token_urlsafe(32)
    hidden = lead.identity_header not in repr(lead)
    assert distinct and long_enough and hidden
    assert lead.can_sign_in


def test_group_cannot_sign_in(directory):
    group = directory.create_group("azDevOpsKV01_admin", "azDevOpsKV01_admin")
    assert group.kind == GROUP and group.identity_header is None and not group.can_sign_in
    assert group.upn is None


def test_service_principal_gets_app_id_and_header(directory):
    pipeline = directory.create_service_principal("pipeline", "Build pipeline")
    assert pipeline.kind == SERVICE_PRINCIPAL
    uuid.UUID(pipeline.app_id)
    assert pipeline.app_id != pipeline.id
    assert pipeline.identity_header


def test_guest_and_disabled_user(directory):
    guest = directory.create_user("guest", "Guest", user_type=GUEST)
    assert directory.get(guest.id).user_type == "Guest"
    with pytest.raises(DirectoryError):
        directory.create_user("odd", "Odd", user_type="Visitor")
    left = directory.create_user("left", "Left the company", enabled=False)
    assert not left.enabled and not left.can_sign_in
    assert directory.set_enabled(left.id, True).enabled
    assert not directory.set_enabled(left.id, False).enabled


def test_duplicate_handle_or_upn_is_refused(directory):
    directory.create_user("lead", "Lead", upn="lead@contoso.com")
    with pytest.raises(DirectoryError, match="taken"):
        directory.create_user("Lead", "Other")
    with pytest.raises(DirectoryError, match="taken"):
        directory.create_user("lead2", "Other", upn="LEAD@contoso.com")
    with pytest.raises(DirectoryError):
        directory.create_group(" spaced", "x")


def test_lookups(directory):
    lead = directory.create_user("lead", "Team Lead", upn="lead@contoso.com")
    directory.create_group("readers", "azDevOpsKV01_reader")
    assert directory.principal_by_handle("LEAD").id == lead.id
    assert directory.principal_by_upn("Lead@Contoso.com").id == lead.id
    assert directory.principal_by_display_name("team lead").id == lead.id
    found = directory.principal_by_identity_header(lead.identity_header)  # repr hides the header
    assert found is not None and found.id == lead.id
    assert directory.principal_by_identity_header("not-a-header") is None
    assert directory.principal_by_identity_header("") is None
    assert directory.principal_by_handle("nobody") is None
    assert directory.get(lead.id.upper()).handle == "lead"
    with pytest.raises(DirectoryError, match="No principal"):
        directory.get(str(uuid.uuid4()))


def test_ambiguous_display_name_asks_for_the_id(directory):
    directory.create_group("team-a", "AzureAD team")
    directory.create_group("team-b", "AzureAD team")
    with pytest.raises(DirectoryError, match="2 principals"):
        directory.principal_by_display_name("AzureAD team")
    assert directory.principal_by_display_name("AzureAD team", kind=USER) is None


def test_list_by_kind(directory):
    directory.create_user("b", "B")
    directory.create_user("a", "A")
    directory.create_group("g", "G")
    directory.create_service_principal("sp", "SP")
    assert [p.handle for p in directory.users()] == ["a", "b"]
    assert [p.handle for p in directory.groups()] == ["g"]
    assert [p.handle for p in directory.service_principals()] == ["sp"]
    assert len(directory.list_principals()) == 4


def test_membership_direct_and_idempotent(directory):
    group = directory.create_group("readers", "Readers")
    member = directory.create_user("member", "Member")
    assert directory.add_member(group.id, member.id) is True
    assert directory.add_member(group.id, member.id) is False
    assert [p.id for p in directory.members(group.id)] == [member.id]
    assert [p.id for p in directory.groups_of(member.id)] == [group.id]
    assert directory.remove_member(group.id, member.id) is True
    assert directory.remove_member(group.id, member.id) is False
    assert directory.members(group.id) == []


def test_membership_rules(directory):
    group = directory.create_group("g", "G")
    user = directory.create_user("u", "U")
    with pytest.raises(DirectoryError, match="not a group"):
        directory.add_member(user.id, group.id)
    with pytest.raises(DirectoryError, match="itself"):
        directory.add_member(group.id, group.id)
    with pytest.raises(DirectoryError, match="No principal"):
        directory.add_member(group.id, str(uuid.uuid4()))
    with pytest.raises(DirectoryError, match="cannot be disabled"):
        directory.set_enabled(group.id, False)


def test_transitive_groups_and_members_through_nesting(directory):
    user = directory.create_user("u", "U")
    inner, middle, outer, unrelated = (directory.create_group(h, h) for h in ("inner", "middle", "outer", "other"))
    directory.add_member(inner.id, user.id)
    directory.add_member(middle.id, inner.id)
    directory.add_member(outer.id, middle.id)
    assert directory.transitive_groups(user.id) == {inner.id, middle.id, outer.id}
    assert directory.transitive_members(outer.id) == {middle.id, inner.id, user.id}
    assert directory.transitive_groups(unrelated.id) == set()
    paths = group_paths(user.id, directory.membership_edges())
    assert set(paths) == directory.transitive_groups(user.id)
    assert paths[outer.id] == (inner.id, middle.id, outer.id)


def test_group_cycle_terminates(directory):
    user = directory.create_user("u", "U")
    a, b, c = (directory.create_group(h, h) for h in ("a", "b", "c"))
    directory.add_member(a.id, user.id)
    directory.add_member(b.id, a.id)
    directory.add_member(c.id, b.id)
    directory.add_member(a.id, c.id)  # a → b → c → a
    assert directory.transitive_groups(user.id) == {a.id, b.id, c.id}
    assert directory.transitive_groups(a.id) == {b.id, c.id}  # not its own member
    assert directory.transitive_members(a.id) == {user.id, b.id, c.id}
    assert set(group_paths(a.id, directory.membership_edges())) == {b.id, c.id}


def test_group_paths_is_pure_and_shortest():
    parents = {"u": ["g1", "g2"], "g1": ["g3"], "g2": ["g3"], "g3": ["g1"]}
    paths = group_paths("u", parents)
    assert paths == {"g1": ("g1",), "g2": ("g2",), "g3": ("g1", "g3")}


def test_delete_removes_the_principal_and_its_memberships(directory):
    group = directory.create_group("g", "G")
    user = directory.create_user("u", "U")
    directory.add_member(group.id, user.id)
    directory.delete(user.id)
    assert directory.principal_by_handle("u") is None
    assert directory.members(group.id) == []
