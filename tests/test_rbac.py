"""Azure RBAC evaluation: wildcards, exclusions, scopes, time windows, groups, conditions, the 403 text."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from kvnb.local.identity import roles
from kvnb.local.identity.conditions import ConditionError, condition_holds, role_assignment_attributes
from kvnb.local.identity.rbac import (
    Authorizer,
    Decision,
    action_matches,
    forbidden_by_rbac_message,
    role_permits,
)
from kvnb.local.identity.roles import RoleDefinition, role_by_id, role_by_name
from kvnb.local.state.directory import Directory
from kvnb.local.state.paths import StatePaths
from kvnb.local.state.store import Store

SUB = "8c1a9b52-5f04-4f43-9a7e-1f0e2b6f8a31"
RG = f"/subscriptions/{SUB}/resourceGroups/kvnb-rg"
VAULT = f"{RG}/providers/Microsoft.KeyVault/vaults/azDevOpsKV01"
SECRET = f"{VAULT}/secrets/APICaller"
GET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
SET = "Microsoft.KeyVault/vaults/secrets/setSecret/action"
READ_METADATA = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
WRITE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments/write"
DELETE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments/delete"


# -- wildcard matching ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "pattern, action, expected",
    [
        ("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/getSecret/action", False),
        ("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/readMetadata/action", False),
        ("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/read", True),
        ("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/keys/versions/read", True),
        ("Microsoft.KeyVault/vaults/*", "Microsoft.KeyVault/vaults/secrets/getSecret/action", True),
        ("Microsoft.KeyVault/vaults/*", "Microsoft.KeyVault/vaults/secrets/delete", True),
        ("Microsoft.KeyVault/vaults/*", "Microsoft.KeyVault/vaultsX/read", False),
        ("Microsoft.KeyVault/vaults/secrets/*", "Microsoft.KeyVault/vaults/keys/read", False),
        ("*", "Microsoft.KeyVault/vaults/write", True),
        ("*/read", "Microsoft.KeyVault/vaults/read", True),
        ("*/read", "Microsoft.KeyVault/vaults/write", False),
        ("Microsoft.Authorization/*/Write", "microsoft.authorization/roleassignments/write", True),
        ("microsoft.keyvault/VAULTS/SECRETS/getsecret/ACTION", GET, True),
        ("Microsoft.CostManagement/*/query/*", "Microsoft.CostManagement/exports/query/read", True),
        ("Microsoft.Key.Vault/*", "MicrosoftXKeyYVault/vaults/read", False),  # dots are literal
        (GET, GET + "x", False),  # the whole action must match
        (GET, "x" + GET, False),
    ],
)
def test_action_matches_as_azure_does(pattern, action, expected):
    assert action_matches(pattern, action) is expected


def test_control_plane_star_grants_no_data_action():
    owner = role_by_name("Owner")
    assert role_permits(owner, "Microsoft.KeyVault/vaults/write", data_action=False)
    assert role_permits(owner, WRITE_ASSIGNMENT, data_action=False)
    assert not role_permits(owner, GET, data_action=True)
    # and data-plane wildcards grant no control-plane action
    admin = role_by_name("Key Vault Administrator")
    assert role_permits(admin, GET, data_action=True)
    assert not role_permits(admin, "Microsoft.KeyVault/vaults/write", data_action=False)
    assert not role_permits(admin, WRITE_ASSIGNMENT, data_action=False)


def test_not_actions_subtract():
    contributor = role_by_name("Contributor")
    assert role_permits(contributor, "Microsoft.KeyVault/vaults/write", data_action=False)
    assert not role_permits(contributor, WRITE_ASSIGNMENT, data_action=False)
    assert not role_permits(contributor, DELETE_ASSIGNMENT, data_action=False)
    assert role_permits(contributor, "Microsoft.Authorization/roleAssignments/read", data_action=False)
    kv_contributor = role_by_name("key vault contributor")
    assert role_permits(kv_contributor, "Microsoft.KeyVault/vaults/write", data_action=False)
    assert not role_permits(
        kv_contributor, "Microsoft.KeyVault/locations/deletedVaults/purge/action", data_action=False
    )
    assert not role_permits(kv_contributor, "Microsoft.KeyVault/managedHsms/write", data_action=False)


def test_not_data_actions_subtract():
    custom = RoleDefinition(
        "11111111-2222-3333-4444-555555555555",
        "Everything but values",
        "test",
        data_actions=("Microsoft.KeyVault/vaults/secrets/*",),
        not_data_actions=("Microsoft.KeyVault/vaults/secrets/getSecret/action",),
        role_type="CustomRole",
    )
    assert role_permits(custom, SET, data_action=True)
    assert not role_permits(custom, GET, data_action=True)


def test_reader_roles():
    assert role_permits(role_by_name("Reader"), "Microsoft.KeyVault/vaults/read", data_action=False)
    assert not role_permits(role_by_name("Reader"), READ_METADATA, data_action=True)
    kv_reader = role_by_name("Key Vault Reader")
    assert role_permits(kv_reader, READ_METADATA, data_action=True)
    assert not role_permits(kv_reader, GET, data_action=True)
    assert role_permits(kv_reader, "Microsoft.KeyVault/vaults/secrets/read", data_action=False)


def test_role_lookup():
    guid = "4633458b-17de-408a-b874-0445c86b69e6"
    assert role_by_id(guid).role_name == "Key Vault Secrets User"
    assert role_by_id(guid.upper()).id == guid
    assert role_by_id(f"/providers/Microsoft.Authorization/roleDefinitions/{guid}").id == guid
    assert role_by_id(f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}").id == guid
    assert role_by_name("  KEY VAULT SECRETS USER ").id == guid
    assert role_by_name("Key Vault Secret User") is None
    assert role_by_id(str(uuid.uuid4())) is None
    uaa = role_by_name("User Access Administrator")
    assert uaa.id == "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
    assert uaa.actions == ("*/read", "Microsoft.Authorization/*", "Microsoft.Support/*")
    assert all(role.assignable_scopes == ("/",) and role.role_type == "BuiltInRole" for role in roles.BUILT_IN_ROLES)
    assert len({role.id for role in roles.BUILT_IN_ROLES}) == len(roles.BUILT_IN_ROLES)
    assert role_by_name("Owner").resource_id(SUB) == (
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
    )


def test_data_access_administrator_definition_carries_azures_condition():
    daa = role_by_name("Key Vault Data Access Administrator")
    [block] = daa.permissions()
    assert block["conditionVersion"] == "2.0"
    assert block["condition"].startswith(
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR "
        "(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{"
        "00482a5a-887f-4fb3-b363-3b7fe8e74483, a4417e6f-fecd-4de8-b567-7b0420556985, "
    )
    assert "@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId]" in block["condition"]
    assert "db79e9a7" not in block["condition"]  # Certificate User is not delegable
    assert "conditionVersion" not in role_by_name("Owner").permissions()[0]


# -- conditions -------------------------------------------------------------------------------------
def test_condition_evaluator_reads_the_request_attributes():
    condition = (
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR "
        "(@Request[Microsoft.Authorization/roleAssignments:PrincipalType] "
        "ForAnyOfAnyValues:StringEqualsIgnoreCase {'User', 'Group'}))"
    )

    def request(principal_type, role=roles.KEY_VAULT_READER):
        return role_assignment_attributes("Request", role, str(uuid.uuid4()), principal_type)

    assert condition_holds(condition, WRITE_ASSIGNMENT, request("group"))
    assert not condition_holds(condition, WRITE_ASSIGNMENT, request("ServicePrincipal"))
    with pytest.raises(ConditionError):  # an attribute the request lacks: the authorizer denies
        condition_holds(condition, WRITE_ASSIGNMENT, {})
    assert condition_holds(condition, "Microsoft.Authorization/roleAssignments/read", {})
    plain = "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] GuidNotEquals 8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
    assert condition_holds(plain, WRITE_ASSIGNMENT, request("User", roles.KEY_VAULT_READER))
    assert not condition_holds(plain, WRITE_ASSIGNMENT, request("User", roles.OWNER))
    with pytest.raises(ConditionError):  # Key Vault requests carry no secret name attribute
        condition_holds("@Resource[Microsoft.KeyVault/vaults/secrets:name] StringLike 'a*'", GET, {})
    with pytest.raises(ConditionError):
        condition_holds("((ActionMatches{'x'})", GET, {})


# -- the authorizer ---------------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path):
    store = Store(StatePaths.resolve(tmp_path))
    yield store
    store.close()


@pytest.fixture
def directory(store):
    return Directory(store)


@pytest.fixture
def authorizer(store):
    return Authorizer(store)


def assign(store, principal, role_name, scope, *, start_time=None, end_time=None, condition=None) -> str:
    name = str(uuid.uuid4())
    now = store.now()
    with store.transaction() as db:
        db.execute(
            "INSERT INTO role_assignments (name, scope, role_definition_id, principal_id, principal_type, "
            "condition, condition_version, created_on, updated_on, start_time, end_time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                scope,
                role_by_name(role_name).resource_id(SUB) if role_name in _KNOWN else role_name,
                principal.id,
                principal.kind,
                condition,
                "2.0" if condition else None,
                now,
                now,
                start_time,
                end_time,
            ),
        )
    return name


_KNOWN = {role.role_name for role in roles.BUILT_IN_ROLES}


def test_deny_by_default(directory, authorizer):
    user = directory.create_user("u", "U")
    assert authorizer.check(user.id, GET, SECRET, data_action=True) == Decision(False, None, None)
    assert authorizer.check(str(uuid.uuid4()), GET, SECRET, data_action=True) == Decision(False, None, None)


@pytest.mark.parametrize(
    "scope, applies",
    [
        ("/", True),
        (f"/subscriptions/{SUB}", True),
        (RG, True),
        (RG.upper(), True),
        (VAULT + "/", True),
        (VAULT.lower(), True),
        (SECRET, True),
        (f"{RG}/providers/Microsoft.KeyVault/vaults/azDevOpsKV0", False),  # a prefix, not an ancestor
        (f"{RG}/providers/Microsoft.KeyVault/vaults/azDevOpsKV01-prod", False),
        (f"{VAULT}/secrets/APICallerOld", False),
        (f"{VAULT}/secrets/API", False),
        ("/subscriptions/5e2b8c1d-0f4a-4b7e-9c3d-2a1f6e8b9d07", False),  # fixed: xdist workers collect equal ids
    ],
)
def test_scope_applies_at_segment_boundaries(store, directory, authorizer, scope, applies):
    user = directory.create_user("u", "U")
    assign(store, user, "Key Vault Secrets User", scope)
    assert authorizer.check(user.id, GET, SECRET, data_action=True).allowed is applies


def test_writes_are_seen_at_once(store, directory, authorizer):
    user = directory.create_user("u", "U")
    assert not authorizer.check(user.id, GET, SECRET, data_action=True).allowed
    name = assign(store, user, "Key Vault Secrets User", VAULT)
    assert authorizer.check(user.id, GET, SECRET, data_action=True) == Decision(
        True, name, roles.KEY_VAULT_SECRETS_USER
    )
    with store.transaction() as db:
        db.execute("DELETE FROM role_assignments WHERE name = ?", (name,))
    assert not authorizer.check(user.id, GET, SECRET, data_action=True).allowed


def test_writes_from_another_process_are_seen(tmp_path, store, directory, authorizer):
    user = directory.create_user("u", "U")
    assert not authorizer.check(user.id, GET, SECRET, data_action=True).allowed
    other = Store(StatePaths.resolve(tmp_path))  # a second connection, as another process would have
    assign(other, user, "Key Vault Secrets User", VAULT)
    other.close()
    assert authorizer.check(user.id, GET, SECRET, data_action=True).allowed


def test_end_time_and_clock_advance(store, directory, authorizer):
    user = directory.create_user("aad-team", "AzureAD team member")
    assign(store, user, "Key Vault Secrets User", VAULT)
    officer = assign(store, user, "Key Vault Secrets Officer", SECRET, end_time=store.now() + 3600)
    assert authorizer.check(user.id, SET, SECRET, data_action=True) == Decision(
        True, officer, roles.KEY_VAULT_SECRETS_OFFICER
    )
    store.set_meta("clock_offset", 61 * 60)
    assert authorizer.check(user.id, SET, SECRET, data_action=True).allowed is False
    assert authorizer.check(user.id, GET, SECRET, data_action=True).allowed  # the permanent one stays
    store.set_meta("clock_offset", 0)  # `kvnb local clock --reset`
    assert authorizer.check(user.id, SET, SECRET, data_action=True).allowed


def test_start_time_is_inclusive_and_end_time_exclusive(monkeypatch, store, directory, authorizer):
    wall = 1_900_000_000
    monkeypatch.setattr(time, "time", lambda: wall)  # freeze the wall clock; the vault clock follows it
    user = directory.create_user("u", "U")
    assign(store, user, "Key Vault Secrets User", VAULT, start_time=wall + 100, end_time=wall + 200)
    for offset, allowed in [(0, False), (99, False), (100, True), (199, True), (200, False), (10_000, False)]:
        store.set_meta("clock_offset", offset)
        assert store.now() == wall + offset
        assert authorizer.check(user.id, GET, SECRET, data_action=True).allowed is allowed, offset


def test_disabled_principal_gets_nothing(store, directory, authorizer):
    user = directory.create_user("left", "Left the company")
    group = directory.create_group("readers", "Readers")
    directory.add_member(group.id, user.id)
    assign(store, user, "Key Vault Administrator", VAULT)
    assign(store, group, "Key Vault Reader", VAULT)
    assert authorizer.check(user.id, GET, SECRET, data_action=True).allowed
    directory.set_enabled(user.id, False)
    assert not authorizer.check(user.id, GET, SECRET, data_action=True).allowed
    assert not authorizer.check(user.id, READ_METADATA, VAULT, data_action=True).allowed
    assert authorizer.roles_of(user.id, VAULT) == []
    directory.set_enabled(user.id, True)
    assert authorizer.check(user.id, GET, SECRET, data_action=True).allowed


def test_transitive_groups_and_how_roles_apply(store, directory, authorizer):
    user = directory.create_user("member", "Member")
    team, department = directory.create_group("team", "Team"), directory.create_group("dept", "Department")
    directory.add_member(team.id, user.id)
    directory.add_member(department.id, team.id)
    until = store.now() + 7200
    via_department = assign(store, department, "Key Vault Secrets User", VAULT, end_time=until)
    inherited = assign(store, user, "Key Vault Reader", RG)
    direct_on_secret = assign(store, user, "Key Vault Secrets Officer", SECRET)
    assert authorizer.check(user.id, GET, SECRET, data_action=True).allowed

    effective = authorizer.roles_of(user.id, SECRET)
    by_name = {e.name: e for e in effective}
    assert set(by_name) == {via_department, inherited, direct_on_secret}
    assert effective[0].name == direct_on_secret  # most specific scope first
    assert by_name[direct_on_secret].is_direct and by_name[direct_on_secret].inherited_from is None
    assert by_name[via_department].via == (team.id, department.id)
    assert by_name[via_department].via_group == department.id
    assert by_name[via_department].inherited_from == VAULT
    assert by_name[via_department].end_time == until
    assert by_name[via_department].role_name == "Key Vault Secrets User"
    assert by_name[inherited].inherited_from == RG and by_name[inherited].is_direct
    # at the vault the secret-scope assignment does not apply
    assert {e.name for e in authorizer.roles_of(user.id, VAULT)} == {via_department, inherited}

    directory.remove_member(team.id, user.id)
    assert {e.name for e in authorizer.roles_of(user.id, SECRET)} == {inherited, direct_on_secret}


def test_group_cycle_still_grants_and_terminates(store, directory, authorizer):
    user = directory.create_user("u", "U")
    a, b = directory.create_group("a", "A"), directory.create_group("b", "B")
    directory.add_member(a.id, user.id)
    directory.add_member(b.id, a.id)
    directory.add_member(a.id, b.id)
    name = assign(store, b, "Key Vault Secrets User", VAULT)
    assert authorizer.check(user.id, GET, SECRET, data_action=True) == Decision(
        True, name, roles.KEY_VAULT_SECRETS_USER
    )
    assert [e.via for e in authorizer.roles_of(user.id, VAULT)] == [(a.id, b.id)]
    assert authorizer.check(a.id, GET, SECRET, data_action=True).allowed  # groups are evaluated too


def test_direct_assignment_preferred_over_group_at_same_scope(store, directory, authorizer):
    user = directory.create_user("u", "U")
    group = directory.create_group("g", "G")
    directory.add_member(group.id, user.id)
    assign(store, group, "Key Vault Secrets User", VAULT)
    direct = assign(store, user, "Key Vault Secrets User", VAULT)
    assert authorizer.check(user.id, GET, SECRET, data_action=True).assignment == direct


def test_unknown_role_grants_nothing(store, directory, authorizer):
    user = directory.create_user("u", "U")
    assign(store, user, f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{uuid.uuid4()}", VAULT)
    assert not authorizer.check(user.id, GET, SECRET, data_action=True).allowed
    [effective] = authorizer.roles_of(user.id, VAULT)
    assert effective.role_name is None


def test_assignment_condition_must_hold(store, directory, authorizer):
    user = directory.create_user("u", "U")
    assign(
        store,
        user,
        "Key Vault Secrets User",
        VAULT,
        condition="@Resource[Microsoft.KeyVault/vaults/secrets:name] StringLike 'db-*'",
    )  # not supported here
    assert not authorizer.check(user.id, GET, SECRET, data_action=True).allowed  # fail closed
    other = directory.create_user("v", "V")
    assign(
        store,
        other,
        "Key Vault Secrets User",
        VAULT,
        condition="(!(ActionMatches{'Microsoft.KeyVault/vaults/secrets/getSecret/action'}))",
    )
    assert not authorizer.check(other.id, GET, SECRET, data_action=True).allowed
    assert authorizer.check(other.id, READ_METADATA, SECRET, data_action=True).allowed


@pytest.mark.parametrize(
    "role_name, assigned_role, write_allowed",
    [
        ("Key Vault Data Access Administrator", roles.KEY_VAULT_SECRETS_USER, True),
        ("Key Vault Data Access Administrator", roles.KEY_VAULT_SECRETS_OFFICER, True),
        ("Key Vault Data Access Administrator", roles.KEY_VAULT_ADMINISTRATOR, True),
        ("Key Vault Data Access Administrator", roles.KEY_VAULT_CERTIFICATE_USER, False),
        ("Key Vault Data Access Administrator", roles.OWNER, False),
        ("Key Vault Data Access Administrator", roles.USER_ACCESS_ADMINISTRATOR, False),
        ("Key Vault Data Access Administrator", roles.KEY_VAULT_DATA_ACCESS_ADMINISTRATOR, False),
        ("Owner", roles.OWNER, True),
        ("User Access Administrator", roles.OWNER, True),
        ("Key Vault Administrator", roles.KEY_VAULT_SECRETS_USER, False),
        ("Contributor", roles.KEY_VAULT_SECRETS_USER, False),
        ("Key Vault Contributor", roles.KEY_VAULT_SECRETS_USER, False),
        ("Key Vault Secrets Officer", roles.KEY_VAULT_SECRETS_USER, False),
    ],
)
def test_who_may_write_and_delete_role_assignments(
    store, directory, authorizer, role_name, assigned_role, write_allowed
):
    lead = directory.create_user("lead", "Team Lead")
    name = assign(store, lead, role_name, VAULT)
    role_id = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{assigned_role}"
    for action, source in ((WRITE_ASSIGNMENT, "Request"), (DELETE_ASSIGNMENT, "Resource")):
        context = role_assignment_attributes(source, role_id, str(uuid.uuid4()), "User")
        decision = authorizer.check(lead.id, action, SECRET, data_action=False, context=context)
        assert decision.allowed is write_allowed, action
        if write_allowed:
            assert decision.assignment == name


def test_data_access_administrator_needs_the_requested_role(store, directory, authorizer):
    lead = directory.create_user("lead", "Team Lead")
    assign(store, lead, "Key Vault Data Access Administrator", VAULT)
    assert not authorizer.check(lead.id, WRITE_ASSIGNMENT, VAULT, data_action=False).allowed  # no context: fail closed
    assert authorizer.check(lead.id, "Microsoft.Authorization/roleAssignments/read", VAULT, data_action=False).allowed
    assert authorizer.check(lead.id, "Microsoft.KeyVault/vaults/secrets/read", VAULT, data_action=False).allowed
    assert not authorizer.check(lead.id, GET, SECRET, data_action=True).allowed


def test_many_checks_per_second(store, directory, authorizer):
    users = [directory.create_user(f"u{i}", f"U{i}") for i in range(20)]
    group = directory.create_group("g", "G")
    for user in users:
        directory.add_member(group.id, user.id)
    assign(store, group, "Key Vault Secrets User", VAULT)
    for i in range(50):
        assign(store, directory.create_user(f"noise{i}", "Noise"), "Key Vault Reader", VAULT)
    started, checks = time.perf_counter(), 3000
    for i in range(checks):
        assert authorizer.check(users[i % 20].id, GET, f"{VAULT}/secrets/s{i % 7}", data_action=True).allowed
    rate = checks / (time.perf_counter() - started)
    assert rate > 1000, f"{rate:.0f} checks/s"


def test_concurrent_checks_and_writes_agree(store, directory, authorizer):
    user = directory.create_user("u", "U")
    assign(store, user, "Key Vault Secrets User", VAULT)
    errors: list[BaseException] = []

    def reader():
        try:
            for _ in range(300):
                assert authorizer.check(user.id, GET, SECRET, data_action=True).allowed
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for i in range(20):  # unrelated writes keep changing the generation under the readers
        directory.create_user(f"extra{i}", "Extra")
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and not any(thread.is_alive() for thread in threads)


# -- the 403 message --------------------------------------------------------------------------------
def test_forbidden_by_rbac_message_is_the_real_one():
    message = forbidden_by_rbac_message(
        "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        "3f2a1c0e-0000-4000-8000-000000000001",
        "72f988bf-86f1-41af-91ab-2d7cd011db47",
        GET,
        SECRET,
        "azDevOpsKV01",
        "westeurope",
    )
    assert message == (
        "Caller is not authorized to perform action on resource.\r\n"
        "If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n"
        "Caller: appid=04b07795-8ddb-461a-bbee-02f9e1bf7b46;oid=3f2a1c0e-0000-4000-8000-000000000001;"
        "iss=https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/\r\n"
        "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n"
        f"Resource: '/subscriptions/{SUB}/resourcegroups/kvnb-rg/providers/microsoft.keyvault/vaults/azdevopskv01/secrets/apicaller'\r\n"
        "Assignment: (not found)\r\n"
        "DenyAssignmentId: null\r\n"
        "DecisionReason: 'DeniedWithNoValidRBAC' \r\n"
        "Vault: azDevOpsKV01;location=westeurope\r\n"
    )


def test_a_star_segment_also_matches_no_segment():
    # Key Vault roles "read metadata of key vaults" through `vaults/*/read`, i.e. the vault itself.
    assert action_matches("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/read")
    assert action_matches("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/read")
    assert not action_matches("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaultsread")
    assert not action_matches("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/read")
