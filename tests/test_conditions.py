"""Azure ABAC role assignment conditions: the grammar Key Vault and Data Access Administrator use,
evaluated with every attribute the request has; refused when unparsable (as ARM refuses them), and
denying on any evaluation error. Negated and compound conditions through ARM and the data plane."""

from __future__ import annotations

import time
import uuid

import pytest
from azure.core.exceptions import HttpResponseError

from armcalls import arm_client, arm_error, object_id, role_id, vault_id
from kvnb.local.identity import roles
from kvnb.local.identity.conditions import (
    ConditionError,
    condition_holds,
    parse_condition,
    role_assignment_attributes,
)
from kvnb.local.state import assignments

WRITE = "Microsoft.Authorization/roleAssignments/write"
DELETE = "Microsoft.Authorization/roleAssignments/delete"
GET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
SET = "Microsoft.KeyVault/vaults/secrets/setSecret/action"
ALICE, BOB = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
PRINCIPAL = "@Request[Microsoft.Authorization/roleAssignments:PrincipalId]"
ROLE = "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId]"


def request(principal=ALICE, role=roles.KEY_VAULT_SECRETS_USER, kind="User", source="Request"):
    return role_assignment_attributes(source, role, principal, kind)


# -- the grammar ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "condition, action, attributes, expected",
    [
        # negation of an attribute comparison: the request's principal is supplied, so it can be false
        (f"!({PRINCIPAL} ForAnyOfAnyValues:GuidEquals {{{ALICE}}})", WRITE, request(ALICE), False),
        (f"!({PRINCIPAL} ForAnyOfAnyValues:GuidEquals {{{ALICE}}})", WRITE, request(BOB), True),
        (f"NOT {PRINCIPAL} GuidEquals {ALICE.upper()}", WRITE, request(ALICE), False),
        (f"{PRINCIPAL} GuidNotEquals {ALICE}", WRITE, request(BOB), True),
        # the action forms
        ("!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})", WRITE, {}, False),
        ("!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})", DELETE, {}, True),
        ("ActionMatches{'Microsoft.Authorization/roleAssignments/*'}", DELETE, {}, True),
        ("ActionMatches{'Microsoft.Authorization/roleDefinitions/*'}", WRITE, {}, False),
        ("!(ActionMatches{'" + WRITE + "'} AND SubOperationMatches{'Blob.List'})", WRITE, {}, True),
        ("SubOperationMatches{'Blob.List'}", WRITE, {}, False),  # nothing here has sub-operations
        # quantifiers over the listed values
        (
            f"{ROLE} ForAnyOfAllValues:GuidNotEquals {{{roles.OWNER}, {roles.USER_ACCESS_ADMINISTRATOR}}}",
            WRITE,
            request(role=roles.KEY_VAULT_READER),
            True,
        ),
        (
            f"{ROLE} ForAnyOfAllValues:GuidNotEquals {{{roles.OWNER}, {roles.USER_ACCESS_ADMINISTRATOR}}}",
            WRITE,
            request(role=roles.OWNER),
            False,
        ),
        (
            f"{ROLE} ForAnyOfAnyValues:GuidEquals {{{roles.OWNER}, {roles.KEY_VAULT_READER}}}",
            WRITE,
            request(role=roles.KEY_VAULT_READER),
            True,
        ),
        (
            f"{ROLE} ForAllOfAllValues:GuidEquals {{{roles.OWNER}, {roles.KEY_VAULT_READER}}}",
            WRITE,
            request(role=roles.KEY_VAULT_READER),
            False,
        ),
        # strings
        ("@Request[Microsoft.Authorization/roleAssignments:PrincipalType] StringEquals 'User'", WRITE, request(), True),
        (
            "@Request[Microsoft.Authorization/roleAssignments:PrincipalType] StringEquals 'user'",
            WRITE,
            request(),
            False,
        ),
        (
            "@Request[Microsoft.Authorization/roleAssignments:PrincipalType] StringEqualsIgnoreCase 'user'",
            WRITE,
            request(),
            True,
        ),
        (
            "@Request[Microsoft.Authorization/roleAssignments:PrincipalType] StringNotEquals 'Group'",
            WRITE,
            request(),
            True,
        ),
        ("@Request[Microsoft.Authorization/roleAssignments:PrincipalType] StringLike 'U?e*'", WRITE, request(), True),
        ("@Request[Microsoft.Authorization/roleAssignments:PrincipalType] StringLike 'G*'", WRITE, request(), False),
        (
            "@Request[Microsoft.Authorization/roleAssignments:PrincipalType] StringStartsWith 'Us'",
            WRITE,
            request(),
            True,
        ),
        (
            (
                "@Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase "
                "{'group', 'user'}"
            ),
            WRITE,
            request(),
            True,
        ),
        # compound: precedence by parentheses, and the symbol forms of AND / OR
        (
            (
                f"(!(ActionMatches{{'{WRITE}'}})) OR ({PRINCIPAL} GuidEquals {ALICE} AND {ROLE} GuidEquals "
                f"{roles.KEY_VAULT_READER})"
            ),
            WRITE,
            request(ALICE, roles.KEY_VAULT_READER),
            True,
        ),
        (
            (
                f"(!(ActionMatches{{'{WRITE}'}})) || ({PRINCIPAL} GuidEquals {ALICE} && {ROLE} GuidEquals "
                f"{roles.KEY_VAULT_READER})"
            ),
            WRITE,
            request(ALICE, roles.OWNER),
            False,
        ),
        (f"(!(ActionMatches{{'{WRITE}'}})) OR ({PRINCIPAL} GuidEquals {ALICE})", GET, {}, True),  # never read
        # the built-in Data Access Administrator condition, on writes and on deletes
        (roles.DATA_ACCESS_ADMINISTRATOR_CONDITION, WRITE, request(role=roles.KEY_VAULT_SECRETS_OFFICER), True),
        (roles.DATA_ACCESS_ADMINISTRATOR_CONDITION, WRITE, request(role=roles.OWNER), False),
        (roles.DATA_ACCESS_ADMINISTRATOR_CONDITION, DELETE, request(role=roles.OWNER, source="Resource"), False),
        (
            roles.DATA_ACCESS_ADMINISTRATOR_CONDITION,
            DELETE,
            request(role=roles.KEY_VAULT_READER, source="Resource"),
            True,
        ),
        (roles.DATA_ACCESS_ADMINISTRATOR_CONDITION, "Microsoft.Authorization/roleAssignments/read", {}, True),
    ],
)
def test_the_condition_grammar(condition, action, attributes, expected):
    assert condition_holds(condition, action, attributes) is expected


@pytest.mark.parametrize(
    "condition",
    [
        "((((" * 1000,
        "(" * 200 + "ActionMatches{'x'}" + ")" * 200,
        "!" * 5000 + "ActionMatches{'x'}",
        "",
        "   ",
        "AND",
        "ActionMatches{'x'} OR",
        "ActionMatches{'x'} ActionMatches{'y'}",
        f"{PRINCIPAL} GuidEquals",
        f"{PRINCIPAL} Frobnicates 'a'",
        f"{PRINCIPAL} ForSomeValues:GuidEquals {{{ALICE}}}",
        f"{PRINCIPAL} GuidEquals 'not-a-guid'",
        "@Request[Microsoft.Authorization/roleAssignments:PrincipalId StringEquals 'a'",
        "@Request[] StringEquals 'a'",
        "@Somewhere[x] StringEquals 'a'",
        "ActionMatches{'x'} OR 'unterminated",
        "(ActionMatches{'x'}",
        "ActionMatches{'x'})",
        "ActionMatches{'x'} OR " * 3000 + "ActionMatches{'x'}",
    ],
)
def test_unparsable_conditions_are_refused_quickly(condition):
    started = time.perf_counter()
    with pytest.raises(ConditionError):
        parse_condition(condition)
    assert time.perf_counter() - started < 1.0


def test_an_attribute_the_request_lacks_is_an_evaluation_error():
    condition = "@Request[subOperation] ForAnyOfAnyValues:StringEqualsIgnoreCase {'Blob.List'}"
    parse_condition(condition)  # well formed
    with pytest.raises(ConditionError):
        condition_holds(condition, GET, {})
    with pytest.raises(ConditionError):  # negation does not turn a missing attribute into a grant
        condition_holds(f"!({PRINCIPAL} GuidEquals {ALICE})", GET, {})


# -- through ARM and the data plane ------------------------------------------------------------------------
def secrets_user_for(local_vault, persona: str, condition: str, role=roles.KEY_VAULT_SECRETS_USER) -> dict:
    return {
        "properties": {
            "roleDefinitionId": role_id(local_vault, role),
            "principalId": object_id(local_vault, persona),
            "principalType": "User",
            "condition": condition,
            "conditionVersion": "2.0",
        }
    }


def forbidden(operation, *args) -> int:
    try:
        operation(*args)
    except HttpResponseError as exc:
        return exc.status_code
    raise AssertionError("the call succeeded; 403 was expected")


@pytest.mark.parametrize("condition", ["((((" * 1000, "@Request[x] Frobnicates 'y'", "ActionMatches{'x'} OR"])
def test_an_unparsable_condition_is_refused_when_the_assignment_is_made(local_vault, condition):
    lead = arm_client(local_vault)
    vault = vault_id(local_vault)
    status, code, message = arm_error(
        lead.role_assignments.create, vault, str(uuid.uuid4()), secrets_user_for(local_vault, "newmember", condition)
    )
    assert (status, code, message) == (
        400,
        "InvalidRoleAssignmentCondition",
        "The given role assignment condition is invalid.",
    )
    status, code, _ = arm_error(
        lead.role_assignment_schedule_requests.create,
        vault,
        str(uuid.uuid4()),
        {
            "properties": {
                **secrets_user_for(local_vault, "newmember", condition)["properties"],
                "requestType": "AdminAssign",
                "scheduleInfo": {"expiration": {"type": "NoExpiration"}},
            }
        },
    )
    assert (status, code) == (400, "InvalidRoleAssignmentCondition")
    newmember = object_id(local_vault, "newmember")
    assert list(lead.role_assignments.list_for_scope(vault, filter=f"principalId eq '{newmember}'")) == []


def test_a_stored_unreadable_condition_denies_instead_of_failing(local_vault):
    # As an older vault (or a hand-edited database) may hold it: the grant is refused, nothing answers 500.
    assignments.create_assignment(
        local_vault.store,
        vault_id(local_vault),
        roles.KEY_VAULT_SECRETS_USER,
        object_id(local_vault, "newmember"),
        "User",
        condition="((((" * 1000,
        condition_version="2.0",
    )
    client = local_vault.secret_client("newmember")
    assert forbidden(client.get_secret, "APICaller") == 403
    assert [s.name for s in client.list_properties_of_secrets()]  # Key Vault Reader still lists


def test_a_negated_principal_condition_holds_through_arm(local_vault):
    # backup may hand out roles at the vault, except to member (the request's and the resource's principal).
    member, newmember = object_id(local_vault, "member"), object_id(local_vault, "newmember")
    vault = vault_id(local_vault)
    condition = (
        f"((!(ActionMatches{{'{WRITE}'}})) OR (!({PRINCIPAL} ForAnyOfAnyValues:GuidEquals {{{member}}}))) AND "
        f"((!(ActionMatches{{'{DELETE}'}})) OR "
        f"(@Resource[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAllValues:GuidNotEquals {{{member}}}))"
    )
    assignments.create_assignment(
        local_vault.store,
        vault,
        roles.USER_ACCESS_ADMINISTRATOR,
        object_id(local_vault, "backup"),
        "User",
        condition=condition,
        condition_version="2.0",
    )
    backup = arm_client(local_vault, "backup")
    assert arm_error(
        backup.role_assignments.create, vault, str(uuid.uuid4()), secrets_user_for(local_vault, "member", "")
    )[:2] == (403, "AuthorizationFailed")
    made = backup.role_assignments.create(vault, str(uuid.uuid4()), secrets_user_for(local_vault, "newmember", ""))
    assert made.principal_id == newmember
    for_member = arm_client(local_vault).role_assignments.create(
        vault, str(uuid.uuid4()), secrets_user_for(local_vault, "member", "")
    )
    assert arm_error(backup.role_assignments.delete_by_id, for_member.id)[:2] == (403, "AuthorizationFailed")
    assert backup.role_assignments.delete_by_id(made.id).name == made.name


def test_a_compound_negated_condition_holds_on_the_data_plane(local_vault):
    lead = arm_client(local_vault)
    vault = vault_id(local_vault)
    # newmember may use the Officer role for everything but writing and deleting.
    condition = (
        "!(ActionMatches{'Microsoft.KeyVault/vaults/secrets/setSecret/action'} OR "
        "ActionMatches{'Microsoft.KeyVault/vaults/secrets/delete'})"
    )
    lead.role_assignments.create(
        vault,
        str(uuid.uuid4()),
        secrets_user_for(local_vault, "newmember", condition, role=roles.KEY_VAULT_SECRETS_OFFICER),
    )
    client = local_vault.secret_client("newmember")
    assert client.get_secret("APICaller").name == "APICaller"
    assert (
        forbidden(client.set_secret, "APICaller", "-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----")
        == 403
    )
    assert forbidden(client.begin_delete_secret, "APICaller") == 403


def test_an_evaluation_error_denies_only_where_it_is_reached(local_vault):
    lead = arm_client(local_vault)
    vault = vault_id(local_vault)
    # Key Vault requests carry no secret-name attribute: reading one is an error, so getSecret is denied,
    # while every other action short-circuits on the negated ActionMatches and is granted.
    condition = (
        f"(!(ActionMatches{{'{GET}'}})) OR (@Resource[Microsoft.KeyVault/vaults/secrets:name] StringLike 'API*')"
    )
    lead.role_assignments.create(
        vault,
        str(uuid.uuid4()),
        secrets_user_for(local_vault, "newmember", condition, role=roles.KEY_VAULT_SECRETS_OFFICER),
    )
    client = local_vault.secret_client("newmember")
    assert forbidden(client.get_secret, "APICaller") == 403
    assert client.set_secret("hostile-probe", "Pa55'w<&>rd-ü").name == "hostile-probe"
