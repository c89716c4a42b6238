"""Fuzz the local vault's ARM surface with schemathesis, driven by Microsoft.Authorization's OpenAPI files.

Role assignments (2022-04-01), role definitions (2022-04-01) and role assignment schedule requests
(2020-10-01), as copied in `tests/data/` (see its README). Their ``$ref``s into Azure's shared
``common-types/resource-management/v2/types.json`` are replaced by the few definitions they name,
supplied below. Requests go with the lead's valid ARM token, path parameters drawn both freely and
from the seed's real scopes, names and ids (so that many requests reach the handlers' logic), bodies
both generated and valid. Every response must be free of 5xx and, where the spec describes it, match
the operation's schema; afterwards every listing still answers 200. Failures are collected and
reported together at the end, as in `test_fuzz_openapi.py`.
"""

from __future__ import annotations

import collections
import copy
import json
import uuid
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import response_schema_conformance

from armcalls import ARM_SCOPE, arm_client, object_id, role_id, vault_id
from fuzzing import first_line, run_generated
from kvnb.local.identity import roles
from kvnb.local.seed import scenario

DATA = Path(__file__).parent / "data"
SPECS = {  # file → api-version the local ARM serves it at
    "authorization-roleassignments-2022-04-01.json": "2022-04-01",
    "authorization-roledefinitions-2022-04-01.json": "2022-04-01",
    "authorization-roleassignmentschedulerequests-2020-10-01.json": "2020-10-01",
}
POSITIVE_EXAMPLES = 15  # per operation
NEGATIVE_EXAMPLES = 6  # per operation
MIN_SUCCESSES = 10  # 2xx among the positive requests (about 35 are expected)
CHECKS = [not_a_server_error, response_schema_conformance]
_SHARED = "../../../../../common-types/resource-management/v2/types.json"
# The definitions of Azure's shared ARM types that the three files name (common-types v2, types.json).
_ERROR_DETAIL = {
    "type": "object",
    "properties": {
        "code": {"readOnly": True, "type": "string"},
        "message": {"readOnly": True, "type": "string"},
        "target": {"readOnly": True, "type": "string"},
        "details": {"readOnly": True, "type": "array", "items": {"$ref": "#/definitions/ErrorDetail"}},
        "additionalInfo": {"readOnly": True, "type": "array", "items": {"$ref": "#/definitions/ErrorAdditionalInfo"}},
    },
}
SHARED_DEFINITIONS = {
    "ErrorResponse": {"type": "object", "properties": {"error": {"$ref": "#/definitions/ErrorDetail"}}},
    "ErrorDetail": _ERROR_DETAIL,
    "ErrorAdditionalInfo": {
        "type": "object",
        "properties": {"type": {"readOnly": True, "type": "string"}, "info": {"readOnly": True, "type": "object"}},
    },
}
SHARED_PARAMETERS = {
    "ApiVersionParameter": {"name": "api-version", "in": "query", "required": True, "type": "string", "minLength": 1},
    "SubscriptionIdParameter": {
        "name": "subscriptionId",
        "in": "path",
        "required": True,
        "type": "string",
        "minLength": 1,
    },
    "ResourceGroupNameParameter": {
        "name": "resourceGroupName",
        "in": "path",
        "required": True,
        "type": "string",
        "minLength": 1,
        "maxLength": 90,
        "pattern": r"^[-\w\._\(\)]+$",
        "x-ms-parameter-location": "method",
    },
}


def _localised(node):
    """The spec with every external ``$ref`` pointing into the spec itself, and no example files."""
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            target = node["$ref"]
            if target.startswith((_SHARED, "./common-types.json")):
                return {"$ref": "#" + target.split("#", 1)[1]}
        return {k: _localised(v) for k, v in node.items() if k != "x-ms-examples"}
    if isinstance(node, list):
        return [_localised(item) for item in node]
    return node


def load_spec(name: str) -> dict:
    spec = json.loads((DATA / name).read_text())
    authorization_common = json.loads((DATA / "authorization-common-types-2022-04-01.json").read_text())
    spec = _localised(spec)
    spec.setdefault("parameters", {}).update({**SHARED_PARAMETERS, **authorization_common["parameters"]})
    spec.setdefault("definitions", {}).update(copy.deepcopy(SHARED_DEFINITIONS))
    spec["host"], spec["schemes"] = "localhost", ["https"]
    return spec


@pytest.fixture(scope="module")
def operations():
    found = []
    for name, version in SPECS.items():
        schema = schemathesis.openapi.from_dict(load_spec(name))
        for result in schema.get_all_operations():
            found.append((result.ok(), version))
    assert len(found) == 20, "the specs' operations changed; check the pools below"
    return found


def _pools(vault) -> dict[str, list]:
    """Real values for each path parameter, so that generated requests reach the handlers' logic."""
    store = vault.store
    subscription = f"/subscriptions/{store.subscription_id}"
    group = f"{subscription}/resourceGroups/{scenario.RESOURCE_GROUP}"
    vault_scope = vault_id(vault)
    lead = object_id(vault, "lead")  # the fuzzing caller keeps its own assignments
    existing = [
        r.name
        for r in arm_client(vault).role_assignments.list_for_scope(vault_scope, filter="atScope()")
        if r.principal_id != lead
    ]
    assignment_ids = [f"{vault_scope}/providers/Microsoft.Authorization/roleAssignments/{name}" for name in existing]
    return {
        "scope": [vault_scope, vault_scope + "/secrets/APICaller", group, subscription, "/"],
        "subscriptionId": [store.subscription_id],
        "resourceGroupName": [scenario.RESOURCE_GROUP],
        "resourceProviderNamespace": ["Microsoft.KeyVault"],
        "resourceType": ["vaults"],
        "resourceName": [scenario.FIRST_VAULT],
        "roleAssignmentName": existing[:3] + [str(uuid.uuid4()) for _ in range(3)],
        "roleAssignmentId": assignment_ids[:3]
        + [f"{vault_scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"],
        "roleDefinitionId": [roles.KEY_VAULT_SECRETS_USER, roles.READER, str(uuid.uuid4())],
        "roleAssignmentScheduleRequestName": [str(uuid.uuid4()) for _ in range(3)],
    }


def _valid_bodies(vault, operation_id: str) -> list[dict]:
    """A few bodies the local ARM accepts, mixed into the generated ones."""
    principals = [object_id(vault, handle) for handle in ("newmember", "shortcut", "member")]
    roles_ = [role_id(vault, roles.KEY_VAULT_SECRETS_USER), role_id(vault, roles.KEY_VAULT_READER)]
    if operation_id in ("RoleAssignments_Create", "RoleAssignments_CreateById"):
        return [{"properties": {"roleDefinitionId": r, "principalId": p}} for r in roles_ for p in principals]
    if operation_id == "RoleAssignmentScheduleRequests_Create":
        return [
            {
                "properties": {
                    "roleDefinitionId": r,
                    "principalId": p,
                    "requestType": "AdminAssign",
                    "scheduleInfo": {"expiration": {"type": "AfterDuration", "duration": "PT2H"}},
                }
            }
            for r in roles_
            for p in principals
        ]
    return []


def _positive(operation, version: str, pools: dict, bodies: list[dict]):
    query = {"api-version": version}
    free = operation.as_strategy(query=query)
    names = [p.name for p in operation.iter_parameters() if p.location == "path"]
    if not names or any(n not in pools for n in names):
        return free
    fixed = st.fixed_dictionaries({n: st.sampled_from(pools[n]) for n in names})
    strategies = [free, fixed.flatmap(lambda p: operation.as_strategy(query=query, path_parameters=p))]
    if bodies:
        strategies.append(
            st.tuples(fixed, st.sampled_from(bodies)).flatmap(
                lambda pair: operation.as_strategy(query=query, path_parameters=pair[0], body=pair[1])
            )
        )
    return st.one_of(*strategies)


def _negative(operation, version: str):
    negative = schemathesis.GenerationMode.NEGATIVE
    return st.one_of(
        operation.as_strategy(generation_mode=negative),
        operation.as_strategy(generation_mode=negative, query={"api-version": version}),
    )


def _drop_nulls(node):
    if isinstance(node, dict):
        return {k: _drop_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_drop_nulls(item) for item in node]
    return node


def without_nulls(response: Response) -> Response:
    """The response as the schema check reads it: ARM sends ``null`` for unset optional properties
    (``condition``, ``description``, ``createdOn`` of a built-in role…), which the specs type as plain
    strings without ``x-nullable``; the SDK reads both forms alike."""
    if not response.content or not "".join(response.headers.get("content-type", [])).startswith("application/json"):
        return response
    content = json.dumps(_drop_nulls(json.loads(response.content))).encode()
    return Response(
        response.status_code,
        response.headers,
        content,
        response.request,
        response.elapsed,
        response.verify,
        response.message,
        response.http_version,
        response.encoding,
    )


def listings_still_answer(vault) -> None:
    lead = arm_client(vault)
    scope = vault_id(vault)
    assert list(lead.role_assignments.list_for_scope(scope))
    assert list(lead.role_definitions.list(scope))
    list(lead.role_assignment_schedule_requests.list_for_scope(scope))
    assert list(lead.role_assignment_schedules.list_for_scope(scope))
    assert list(lead.role_assignment_schedule_instances.list_for_scope(scope))


@pytest.mark.slow
def test_generated_arm_requests_get_no_5xx_and_schema_conformant_responses(local_vault, operations):
    token = local_vault.credential("lead").get_token(ARM_SCOPE).token
    auth = {"Authorization": f"Bearer {token}"}
    session = requests.Session()
    session.verify = local_vault.ca
    pools = _pools(local_vault)
    statuses: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    failures: list[str] = []

    def exercise(mode: str, case) -> None:
        response = None
        name = case.operation.definition.raw["operationId"]
        try:
            response = case.call(
                base_url=local_vault.url, session=session, headers=auth, verify=local_vault.ca, timeout=30
            )
            statuses[mode, name][response.status_code] += 1
            case.validate_response(without_nulls(response), checks=CHECKS, headers=auth)
        except FailureGroup as group:
            problem = "; ".join(f"{f.title}: {first_line(f.message)}" for f in group.exceptions)
            body = response.text[:300] if response is not None else ""
            failures.append(
                f"[{mode}] {name} {case.path_parameters} -> "
                f"{response.status_code if response is not None else '-'}: {problem[:300]} {body}"
            )
        except Exception as exc:
            failures.append(f"[{mode}] {name} {case.path_parameters}: {type(exc).__name__}")

    for operation, version in operations:
        name = operation.definition.raw["operationId"]
        runs = [
            ("positive", _positive(operation, version, pools, _valid_bodies(local_vault, name)), POSITIVE_EXAMPLES),
            ("negative", _negative(operation, version), NEGATIVE_EXAMPLES),
        ]
        for mode, strategy, examples in runs:
            run_generated(strategy, examples, lambda case, mode=mode: exercise(mode, case))
    session.close()

    totals = {
        mode: sum((c for (m, _), c in statuses.items() if m == mode), collections.Counter())
        for mode in ("positive", "negative")
    }
    print("\nARM OpenAPI fuzz, statuses per operation (positive | negative):")
    for operation, _ in operations:
        name = operation.definition.raw["operationId"]
        print(
            f"  {name:<40} {dict(sorted(statuses['positive', name].items()))} | "
            f"{dict(sorted(statuses['negative', name].items()))}"
        )
    print(
        f"  all: positive {dict(sorted(totals['positive'].items()))}, "
        f"negative {dict(sorted(totals['negative'].items()))}"
    )
    assert not failures, f"{len(failures)} failing responses:\n" + "\n".join(failures[:20])
    successes = sum(n for code, n in totals["positive"].items() if 200 <= code < 300)
    assert successes >= MIN_SUCCESSES, f"only {successes} schema-valid requests succeeded"
    listings_still_answer(local_vault)
