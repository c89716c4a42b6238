"""Role assignments through the real AuthorizationManagementClient (2022-04-01) against the local vault:
list with every filter at vault, secret, resource group and subscription scope; get; create; delete;
by id; who may write; and bad input answered with 4xx, never 500."""

from __future__ import annotations

import uuid

from armcalls import arm_client, arm_error, call, object_id, role_id, vault_id
from kvnb.local.identity import roles
from kvnb.local.seed import scenario
from kvnb.local.state import assignments

SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"


def test_listing_at_vault_secret_and_inherited_scopes(local_vault):
    store, client = local_vault.store, arm_client(local_vault)
    vault = vault_id(local_vault)
    secret = vault + "/secrets/APICaller"
    group = vault.split("/providers/")[0]
    subscription = f"/subscriptions/{store.subscription_id}"
    member, backup = object_id(local_vault, "member"), object_id(local_vault, "backup")
    # Made by the subscription's owner, outside the vault's own governance.
    at_group = assignments.create_assignment(store, group, roles.READER, member, "User")
    at_subscription = assignments.create_assignment(store, subscription, roles.READER, backup, "User")
    on_secret = assignments.create_assignment(store, secret, roles.KEY_VAULT_SECRETS_OFFICER, member, "User")
    on_other_vault_secret = assignments.create_assignment(
        store, vault + "/secrets/Other", roles.KEY_VAULT_READER, backup, "User"
    )

    at_or_above_vault = {a.name for a in client.role_assignments.list_for_scope(vault, filter="atScope()")}
    seeded = {r.name for r in assignments.list_assignments(store) if r.scope == vault}
    assert at_or_above_vault == seeded | {at_group.name, at_subscription.name}
    everything = {a.name for a in client.role_assignments.list_for_scope(vault)}  # at, above and below
    assert everything == at_or_above_vault | {on_secret.name, on_other_vault_secret.name}
    at_secret = {a.name for a in client.role_assignments.list_for_scope(secret, filter="atScope()")}
    assert at_secret == at_or_above_vault | {on_secret.name}
    mine = {a.name for a in client.role_assignments.list_for_scope(vault, filter=f"principalId eq '{member}'")}
    assert mine == {at_group.name, on_secret.name}  # at, above and below, this principal only
    # assignedTo() includes the groups the member is in (reader and secAccess).
    assigned = list(client.role_assignments.list_for_scope(vault, filter=f"atScope() and assignedTo('{member}')"))
    assert {a.principal_type for a in assigned} == {"User", "Group"}
    assert {roles.role_guid(a.role_definition_id) for a in assigned} == {
        roles.READER,
        roles.KEY_VAULT_READER,
        roles.KEY_VAULT_SECRETS_USER,
    }
    # The lead reads at the vault only; backup's Reader at the subscription reads there.
    assert arm_error(lambda: list(client.role_assignments.list_for_subscription()))[:2] == (403, "AuthorizationFailed")
    by_subscription = {a.name for a in arm_client(local_vault, "backup").role_assignments.list_for_subscription()}
    assert on_secret.name in by_subscription and at_subscription.name in by_subscription
    reader = arm_client(local_vault, "backup")
    by_group = {
        a.name for a in reader.role_assignments.list_for_resource_group(scenario.RESOURCE_GROUP, filter="atScope()")
    }
    assert by_group == {at_group.name, at_subscription.name}


def test_listed_assignment_has_arm_shape(local_vault):
    client = arm_client(local_vault)
    vault = vault_id(local_vault)
    [shortcut] = client.role_assignments.list_for_scope(
        vault, filter=f"principalId eq '{object_id(local_vault, 'shortcut')}'"
    )
    assert shortcut.id == f"{vault}/providers/Microsoft.Authorization/roleAssignments/{shortcut.name}"
    assert shortcut.type == "Microsoft.Authorization/roleAssignments"
    assert (shortcut.scope, shortcut.principal_type) == (vault, "User")
    assert shortcut.role_definition_id == role_id(local_vault, SECRETS_USER)
    assert shortcut.created_by == object_id(local_vault, "lead")
    assert shortcut.created_on.tzinfo is not None and shortcut.updated_on == shortcut.created_on
    same = client.role_assignments.get(vault, shortcut.name)
    assert same.as_dict() == shortcut.as_dict()
    assert client.role_assignments.get_by_id(shortcut.id).name == shortcut.name


def test_lead_creates_gets_and_deletes_at_secret_scope(local_vault):
    client = arm_client(local_vault)
    secret = vault_id(local_vault) + "/secrets/APICaller"
    team = object_id(local_vault, "azuread-team")
    name = str(uuid.uuid4())
    parameters = {
        "properties": {
            "roleDefinitionId": role_id(local_vault, SECRETS_OFFICER),
            "principalId": team,
            "principalType": "Group",
            "description": "rotation",
        }
    }
    made = client.role_assignments.create(secret, name, parameters)
    assert (made.name, made.scope, made.principal_id, made.description) == (name, secret, team, "rotation")
    assert made.created_by == object_id(local_vault, "lead")
    assert client.role_assignments.get(secret, name).id == made.id
    # The same grant under another name is a conflict; the same name again is idempotent.
    assert arm_error(client.role_assignments.create, secret, str(uuid.uuid4()), parameters)[:2] == (
        409,
        "RoleAssignmentExists",
    )
    assert client.role_assignments.create(secret, name, parameters).id == made.id
    changed = {
        "properties": {
            **parameters["properties"],
            "principalId": object_id(local_vault, "member"),
            "principalType": "User",
        }
    }
    assert arm_error(client.role_assignments.create, secret, name, changed)[:2] == (
        409,
        "RoleAssignmentUpdateNotPermitted",
    )
    deleted = client.role_assignments.delete(secret, name)
    assert deleted.name == name  # 200 with the deleted assignment as body
    assert arm_error(client.role_assignments.get, secret, name)[:2] == (404, "RoleAssignmentNotFound")
    assert client.role_assignments.delete(secret, name) is None  # already gone: 204


def test_create_and_delete_by_id(local_vault):
    client = arm_client(local_vault)
    vault = vault_id(local_vault)
    assignment_id = f"{vault}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    made = client.role_assignments.create_by_id(
        assignment_id,
        {
            "properties": {
                "roleDefinitionId": role_id(local_vault, SECRETS_USER),
                "principalId": object_id(local_vault, "newmember"),
            }
        },
    )
    assert made.id == assignment_id and made.principal_type == "User"  # filled in from the directory
    assert client.role_assignments.delete_by_id(assignment_id).id == assignment_id


def test_only_role_assignment_writers_may_create_or_delete(local_vault):
    vault = vault_id(local_vault)
    parameters = {
        "properties": {
            "roleDefinitionId": role_id(local_vault, SECRETS_USER),
            "principalId": object_id(local_vault, "newmember"),
            "principalType": "User",
        }
    }
    # backup is Key Vault Administrator (through the admin group): data plane only, no role assignment writes.
    name = str(uuid.uuid4())
    status, code, message = arm_error(
        arm_client(local_vault, "backup").role_assignments.create, vault, name, parameters
    )
    assert (status, code) == (403, "AuthorizationFailed")
    assert message == (
        f"The client 'backup@kvnblocal.onmicrosoft.com' with object id '{object_id(local_vault, 'backup')}' does not "
        "have authorization to perform action 'Microsoft.Authorization/roleAssignments/write' over scope "
        f"'{vault}/providers/Microsoft.Authorization/roleAssignments/{name}' or the scope is invalid. If access was "
        "recently granted, please refresh your credentials."
    )
    # The lead's Key Vault Data Access Administrator condition allows Key Vault roles only.
    owner = {"properties": {**parameters["properties"], "roleDefinitionId": role_id(local_vault, roles.OWNER)}}
    assert arm_error(arm_client(local_vault).role_assignments.create, vault, str(uuid.uuid4()), owner)[:2] == (
        403,
        "AuthorizationFailed",
    )
    [shortcut] = arm_client(local_vault).role_assignments.list_for_scope(
        vault, filter=f"principalId eq '{object_id(local_vault, 'shortcut')}'"
    )
    status, code, message = arm_error(arm_client(local_vault, "member").role_assignments.delete_by_id, shortcut.id)
    assert (status, code) == (403, "AuthorizationFailed")
    assert "'Microsoft.Authorization/roleAssignments/delete'" in message
    # Reading needs roleAssignments/read: the Secrets User pipeline lacks it, a Key Vault Reader has it.
    assert arm_error(lambda: list(arm_client(local_vault, "pipeline").role_assignments.list_for_scope(vault)))[:2] == (
        403,
        "AuthorizationFailed",
    )
    assert len(list(arm_client(local_vault, "newmember").role_assignments.list_for_scope(vault))) >= 7


def test_bad_input_gets_4xx_never_500(local_vault):
    # backup becomes User Access Administrator of the subscription: no condition stands before validation.
    assignments.create_assignment(
        local_vault.store,
        f"/subscriptions/{local_vault.store.subscription_id}",
        roles.USER_ACCESS_ADMINISTRATOR,
        object_id(local_vault, "backup"),
        "User",
    )
    client = arm_client(local_vault, "backup")
    vault = vault_id(local_vault)
    good = {
        "roleDefinitionId": role_id(local_vault, SECRETS_USER),
        "principalId": object_id(local_vault, "member"),
        "principalType": "User",
    }
    cases = [
        (
            {**good, "roleDefinitionId": role_id(local_vault, "00000000-0000-0000-0000-000000000000")},
            (400, "RoleDefinitionDoesNotExist"),
        ),
        ({**good, "roleDefinitionId": "Key Vault Secrets User"}, (400, "InvalidRoleDefinitionId")),
        ({**good, "principalId": str(uuid.uuid4())}, (400, "PrincipalNotFound")),
        ({**good, "principalId": "member"}, (400, "InvalidPrincipalId")),
        ({**good, "principalType": "Group"}, (400, "UnmatchedPrincipalType")),
        ({**good, "principalType": "Robot"}, (400, "InvalidRequestContent")),
        ({key: value for key, value in good.items() if key != "principalId"}, (400, "InvalidRequestContent")),
    ]
    for properties, expected in cases:
        assert (
            arm_error(client.role_assignments.create, vault, str(uuid.uuid4()), {"properties": properties})[:2]
            == expected
        ), properties
    assert arm_error(client.role_assignments.create, vault, "not-a-guid", {"properties": good})[:2] == (
        400,
        "InvalidRoleAssignmentId",
    )
    assert arm_error(lambda: list(client.role_assignments.list_for_scope(vault, filter="principalName eq 'x'")))[
        :2
    ] == (400, "InvalidFilterInQueryString")
    assert arm_error(lambda: list(client.role_assignments.list_for_scope(vault + "/keys/k1")))[0] == 400
    missing_vault = vault.replace(scenario.FIRST_VAULT, "missingVault")
    assert arm_error(lambda: list(client.role_assignments.list_for_scope(missing_vault)))[:2] == (
        404,
        "ResourceNotFound",
    )
    path = f"{vault}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}?api-version=2022-04-01"
    for body in (b"{not json", b"[1, 2]", b'{"properties": "x"}', b'{"properties": {"principalId": 7}}'):
        status, error, _ = call(local_vault, path, method="PUT", body=body)
        assert status == 400 and error["error"]["code"] == "InvalidRequestContent", body
