"""Every built-in role × every secrets operation, at vault and at secret scope, direct and via groups.

The expected answers are written out by hand from the reference's tables (section B and B.1 of
azure-keyvault-facts.md), not computed by the code under test: Y = allowed, N = denied.
"""

from __future__ import annotations

import uuid

import pytest

from kvnb.local.identity import roles
from kvnb.local.identity.rbac import Authorizer
from kvnb.local.state.directory import Directory
from kvnb.local.state.paths import StatePaths
from kvnb.local.state.store import Store

SUBSCRIPTION = "8c1a9b52-5f04-4f43-9a7e-1f0e2b6f8a31"
VAULT = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/kvnb-rg/providers/Microsoft.KeyVault/vaults/azDevOpsKV01"
SCOPED_SECRET = f"{VAULT}/secrets/APICaller"
OTHER_SECRET = f"{VAULT}/secrets/DbPassword"

# Reference B.1: operation → (dataAction, checked on the vault rather than the secret?)
OPERATIONS = {
    "get": ("Microsoft.KeyVault/vaults/secrets/getSecret/action", False),
    "list": ("Microsoft.KeyVault/vaults/secrets/readMetadata/action", True),
    "list_versions": ("Microsoft.KeyVault/vaults/secrets/readMetadata/action", False),
    "set": ("Microsoft.KeyVault/vaults/secrets/setSecret/action", False),
    "update": ("Microsoft.KeyVault/vaults/secrets/update/action", False),
    "delete": ("Microsoft.KeyVault/vaults/secrets/delete", False),
    "get_deleted": ("Microsoft.KeyVault/vaults/secrets/readMetadata/action", False),
    "list_deleted": ("Microsoft.KeyVault/vaults/secrets/readMetadata/action", True),
    "recover": ("Microsoft.KeyVault/vaults/secrets/recover/action", False),
    "purge": ("Microsoft.KeyVault/vaults/secrets/purge/action", False),
    "backup": ("Microsoft.KeyVault/vaults/secrets/backup/action", False),
    "restore": ("Microsoft.KeyVault/vaults/secrets/restore/action", True),  # the name is inside the blob
}
COLUMNS = list(OPERATIONS)

# fmt: off
#                                                                            get list vers set upd del gdel ldel rec purge bak rest
ROLES = {
    "Key Vault Administrator":                  ("00482a5a-887f-4fb3-b363-3b7fe8e74483", "Y Y Y Y Y Y Y Y Y Y Y Y", "Y N Y Y Y Y Y N Y Y Y N"),
    "Key Vault Reader":                         ("21090545-7ca7-4776-b22c-e363652d74d2", "N Y Y N N N Y Y N N N N", "N N Y N N N Y N N N N N"),
    "Key Vault Secrets Officer":                ("b86a8fe4-44ce-4948-aee5-eccb2c155cd7", "Y Y Y Y Y Y Y Y Y Y Y Y", "Y N Y Y Y Y Y N Y Y Y N"),
    "Key Vault Secrets User":                   ("4633458b-17de-408a-b874-0445c86b69e6", "Y Y Y N N N Y Y N N N N", "Y N Y N N N Y N N N N N"),
    "Key Vault Certificates Officer":           ("a4417e6f-fecd-4de8-b567-7b0420556985", "N N N N N N N N N N N N", "N N N N N N N N N N N N"),
    "Key Vault Certificate User":               ("db79e9a7-68ee-4b58-9aeb-b90e7c24fcba", "Y Y Y N N N Y Y N N N N", "Y N Y N N N Y N N N N N"),
    "Key Vault Crypto Officer":                 ("14b46e9e-c2b7-41b4-b07b-48a6ebf60603", "N N N N N N N N N N N N", "N N N N N N N N N N N N"),
    "Key Vault Crypto User":                    ("12338af0-0e69-4776-bea7-57ae8d297424", "N N N N N N N N N N N N", "N N N N N N N N N N N N"),
    "Key Vault Crypto Service Encryption User": ("e147488a-f6f5-4113-8e2d-b22465e65bf6", "N N N N N N N N N N N N", "N N N N N N N N N N N N"),
    "Key Vault Crypto Service Release User":    ("08bbd89e-9f13-488c-ac41-acfcb10c90ab", "N N N N N N N N N N N N", "N N N N N N N N N N N N"),
    "Key Vault Data Access Administrator":      ("8b54135c-b56d-4d72-a534-26097cfdc8d8", "N N N N N N N N N N N N", "N N N N N N N N N N N N"),
    "Key Vault Contributor":                    ("f25e0fa2-a7c8-4377-a976-54943a77a395", "N N N N N N N N N N N N", "N N N N N N N N N N N N"),
    "Owner":                                    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "N N N N N N N N N N N N", "N N N N N N N N N N N N"),
    "Contributor":                              ("b24988ac-6180-42a0-ab88-20f7382dd24c", "N N N N N N N N N N N N", "N N N N N N N N N N N N"),
    "Reader":                                   ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "N N N N N N N N N N N N", "N N N N N N N N N N N N"),
    "User Access Administrator":                ("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "N N N N N N N N N N N N", "N N N N N N N N N N N N"),
}
# fmt: on


def expected_row(cells: str) -> dict[str, bool]:
    flags = cells.split()
    assert len(flags) == len(COLUMNS) and set(flags) <= {"Y", "N"}
    return {operation: flag == "Y" for operation, flag in zip(COLUMNS, flags)}


def resource_for(operation: str, secret: str) -> str:
    return VAULT if OPERATIONS[operation][1] else secret


def test_the_operation_table_is_the_one_the_vault_uses():
    assert {op: action for op, (action, _) in OPERATIONS.items()} == roles.SECRET_DATA_ACTIONS
    assert {op for op, (_, on_vault) in OPERATIONS.items() if on_vault} == roles.VAULT_LEVEL_OPERATIONS


@pytest.mark.parametrize("name", ROLES)
def test_role_guids_are_the_real_ones(name):
    guid = ROLES[name][0]
    assert roles.role_by_name(name).id == guid
    assert roles.role_by_id(guid).role_name == name


@pytest.fixture
def store(tmp_path):
    store = Store(StatePaths.resolve(tmp_path))
    yield store
    store.close()


def assign(store: Store, principal_id: str, principal_type: str, role_guid: str, scope: str) -> str:
    name = str(uuid.uuid4())
    now = store.now()
    with store.transaction() as db:
        db.execute(
            "INSERT INTO role_assignments (name, scope, role_definition_id, principal_id, principal_type, "
            "created_on, updated_on) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                scope,
                f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}",
                principal_id,
                principal_type,
                now,
                now,
            ),
        )
    return name


def caller_holding(store: Store, role_guid: str, scope: str, via: str) -> tuple[str, str]:
    """A user who holds the role at *scope* directly, through a group, or through a nested group."""
    directory = Directory(store)
    user = directory.create_user("caller", "Caller")
    if via == "direct":
        return user.id, assign(store, user.id, "User", role_guid, scope)
    team = directory.create_group("team", "Team")
    directory.add_member(team.id, user.id)
    holder = team
    if via == "nested group":
        holder = directory.create_group("department", "Department")
        directory.add_member(holder.id, team.id)
    return user.id, assign(store, holder.id, "Group", role_guid, scope)


VIAS = ["direct", "group", "nested group"]


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("name", ROLES)
def test_vault_scope(store, name, via):
    guid, at_vault, _ = ROLES[name]
    caller, assignment = caller_holding(store, guid, VAULT, via)
    authorizer = Authorizer(store)
    expected = expected_row(at_vault)
    for secret in (SCOPED_SECRET, OTHER_SECRET):  # a vault-scope role covers every secret alike
        actual = {}
        for operation, (action, _) in OPERATIONS.items():
            decision = authorizer.check(caller, action, resource_for(operation, secret), data_action=True)
            actual[operation] = decision.allowed
            if decision.allowed:
                assert (decision.assignment, decision.role) == (assignment, guid)
            else:
                assert (decision.assignment, decision.role) == (None, None)
        assert actual == expected, f"{name} via {via} on {secret}"


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("name", ROLES)
def test_secret_scope(store, name, via):
    guid, _, at_secret = ROLES[name]
    caller, _ = caller_holding(store, guid, SCOPED_SECRET, via)
    authorizer = Authorizer(store)
    on_scoped = {
        op: authorizer.check(caller, action, resource_for(op, SCOPED_SECRET), data_action=True).allowed
        for op, (action, _) in OPERATIONS.items()
    }
    assert on_scoped == expected_row(at_secret), f"{name} via {via}"
    on_other = {
        op: authorizer.check(caller, action, resource_for(op, OTHER_SECRET), data_action=True).allowed
        for op, (action, _) in OPERATIONS.items()
    }
    assert not any(on_other.values()), f"{name} at {SCOPED_SECRET} leaked to another secret: {on_other}"


@pytest.mark.parametrize("name", ROLES)
def test_service_principal_same_as_user(store, name):
    guid, at_vault, _ = ROLES[name]
    pipeline = Directory(store).create_service_principal("pipeline", "Build pipeline")
    assign(store, pipeline.id, "ServicePrincipal", guid, VAULT)
    authorizer = Authorizer(store)
    actual = {
        op: authorizer.check(pipeline.id, action, resource_for(op, SCOPED_SECRET), data_action=True).allowed
        for op, (action, _) in OPERATIONS.items()
    }
    assert actual == expected_row(at_vault)


def test_nobody_without_an_assignment(store):
    user = Directory(store).create_user("stranger", "Stranger")
    authorizer = Authorizer(store)
    for operation, (action, _) in OPERATIONS.items():
        assert not authorizer.check(user.id, action, resource_for(operation, SCOPED_SECRET), data_action=True).allowed
