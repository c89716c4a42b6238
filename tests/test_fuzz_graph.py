"""Fuzz the local vault's Microsoft Graph routes with Hypothesis (Graph publishes no OpenAPI file for them).

Every route of the local Graph, with every method it has, gets generated requests with a valid token
(the lead's, who holds the governance role and approves the packages, or a member's): path parameters
drawn both from the seed's real ids and freely, OData query options both plausible and not, and for
POST / PATCH bodies of arbitrary JSON as well as the properties the routes read with values of every
JSON type. No response may be a 5xx, every error must be Graph's JSON shape, and afterwards every
listing still answers 200.
"""

from __future__ import annotations

import collections
import copy
import json
import re
from urllib.parse import quote

import pytest
import requests
from hypothesis import strategies as st

from fuzzing import run_generated
from kvnb.local.graph.routes import routes as graph_routes

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
EXAMPLES = 12  # per route and method
EM = "/v1.0/identityGovernance/entitlementManagement"
REVIEWS = "/v1.0/identityGovernance/accessReviews/definitions"
# The properties the routes read, so that generated bodies reach past the first check.
KNOWN_PROPERTIES = (
    "displayName",
    "scope",
    "reviewers",
    "settings",
    "descriptionForAdmins",
    "requestType",
    "assignment",
    "accessPackageId",
    "assignmentPolicyId",
    "targetId",
    "justification",
    "reviewResult",
    "decision",
    "principalId",
    "ids",
    "types",
    "query",
    "recurrence",
    "pattern",
    "range",
    "interval",
    "type",
    "instanceDurationInDays",
    "id",
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        [
            "userAdd",
            "adminAdd",
            "adminRemove",
            "Approve",
            "Deny",
            "weekly",
            "absoluteMonthly",
            "9999-12-31T23:59:59Z",
            "P999999999999D",
            "x",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KNOWN_PROPERTIES) | st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=12,
)
bodies = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(KNOWN_PROPERTIES), json_values, max_size=6),
    st.binary(max_size=40),  # not JSON at all
)


def _leaf_paths(node, prefix=()) -> list[tuple]:
    """Every key path into a template, containers included, so that any part can be replaced."""
    paths = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            paths += _leaf_paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            paths += _leaf_paths(value, prefix + (index,))
    return paths


def _replaced(template, path: tuple, value):
    document = copy.deepcopy(template)
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


def mutations(template: dict):
    """The valid *template*, and the template with one part replaced by any JSON value: bodies that pass
    the first checks and then meet one wrong property deep inside."""
    paths = _leaf_paths(template)
    return st.one_of(
        st.just(template), st.tuples(st.sampled_from(paths), json_values).map(lambda pair: _replaced(template, *pair))
    )


def _templates(pools: dict, lead: str, group: str) -> dict[tuple[str, str], dict]:
    """A valid body per writing route (route path, method), for `mutations`."""
    instance = "/{definition}/instances/{instance}"
    return {
        ("POST", REVIEWS): {
            "displayName": "Fuzzed review",
            "descriptionForAdmins": "d",
            "descriptionForReviewers": "r",
            "scope": {"query": f"/groups/{group}/members", "queryType": "MicrosoftGraph"},
            "reviewers": [{"query": f"/users/{lead}", "queryType": "MicrosoftGraph"}],
            "settings": {
                "instanceDurationInDays": 3,
                "autoApplyDecisionsEnabled": False,
                "defaultDecision": "None",
                "recurrence": {
                    "pattern": {"type": "weekly", "interval": 4},
                    "range": {"type": "numbered", "numberOfOccurrences": 3, "startDate": "2026-01-01"},
                },
            },
        },
        ("POST", REVIEWS + instance + "/batchRecordDecisions"): {
            "decision": "Approve",
            "justification": "still needed",
            "principalId": pools["key"][0],
        },
        ("PATCH", REVIEWS + instance + "/decisions/{decision}"): {"decision": "Deny", "justification": "left"},
        ("POST", EM + "/assignmentRequests"): {
            "requestType": "adminAdd",
            "justification": "on call",
            "assignment": {
                "accessPackageId": pools["package"][0],
                "assignmentPolicyId": pools["policy"][0],
                "targetId": pools["key"][0],
            },
        },
        ("PATCH", EM + "/accessPackageAssignmentApprovals/{approval}/stages/{stage}"): {
            "reviewResult": "Approve",
            "justification": "ok",
        },
        ("POST", "/v1.0/directoryObjects/getByIds"): {"ids": pools["key"][:3], "types": ["user", "group"]},
    }


def _pools(vault, get) -> dict[str, list[str]]:
    """Real ids of the seed, per path parameter name."""
    users = [u["id"] for u in get("/v1.0/users")["value"]]
    groups = [g["id"] for g in get("/v1.0/groups")["value"]]
    definitions = [d["id"] for d in get(REVIEWS)["value"]]
    instances = [i["id"] for d in definitions for i in get(f"{REVIEWS}/{d}/instances")["value"]]
    decisions = [
        x["id"]
        for d in definitions[:1]
        for i in get(f"{REVIEWS}/{d}/instances")["value"][:2]
        for x in get(f"{REVIEWS}/{d}/instances/{i['id']}/decisions")["value"][:3]
    ]
    packages = [p["id"] for p in get(f"{EM}/accessPackages")["value"]]
    policies = [p["id"] for p in get(f"{EM}/assignmentPolicies")["value"]]
    requests_ = [r["id"] for r in get(f"{EM}/assignmentRequests")["value"]]
    stages = (
        [s["id"] for r in requests_ for s in get(f"{EM}/accessPackageAssignmentApprovals/{r}")["stages"]]
        if requests_
        else []
    )
    mine = [f"filterByCurrentUser(on='{on}')" for on in ("target", "createdBy", "approver", "x")]
    return {
        "key": users + groups + ["lead@kvnblocal.onmicrosoft.com"],
        "definition": definitions,
        "instance": instances,
        "decision": decisions,
        "package": packages,
        "policy": policies,
        "request": requests_ + mine,
        "approval": requests_ + mine,
        "stage": stages,
    }


def _path(route_path: str, pools: dict):
    names = re.findall(r"{(\w+)}", route_path)
    free = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)
    values = st.fixed_dictionaries({n: st.one_of(st.sampled_from(pools.get(n) or ["x"]), free) for n in names})

    def fill(chosen: dict) -> str:
        path = route_path
        for name, value in chosen.items():
            path = path.replace("{" + name + "}", quote(value, safe="@()='"))
        return path

    return values.map(fill)


queries = st.fixed_dictionaries(
    {},
    optional={
        "$top": st.one_of(st.integers(-5, 2000).map(str), st.text(max_size=6)),
        "$filter": st.one_of(
            st.sampled_from(
                [
                    "displayName eq 'x'",
                    "startswith(displayName,'az')",
                    "state eq 'x'",
                    "id eq null",
                    "decision eq 'Deny'",
                    "foo",
                ]
            ),
            st.text(max_size=20),
        ),
        "$skiptoken": st.one_of(st.just("eyJvIjogNX0"), st.text(max_size=12)),
        "$expand": st.sampled_from(
            [
                "assignmentPolicies",
                "resourceRoleScopes($expand=role,scope)",
                "target",
                "accessPackage,requestor,assignment",
                "x(",
            ]
        ),
        "$select": st.text(max_size=12),
    },
)


def listings_still_answer(get) -> None:
    for path in (
        "/v1.0/users",
        "/v1.0/groups",
        "/v1.0/me/memberOf",
        f"{EM}/accessPackages",
        f"{EM}/assignmentPolicies",
        f"{EM}/assignmentRequests",
        f"{EM}/assignments",
        REVIEWS,
        f"{EM}/assignmentRequests/filterByCurrentUser(on='approver')",
    ):
        get(path)
    for definition in get(REVIEWS)["value"]:
        for instance in get(f"{REVIEWS}/{definition['id']}/instances")["value"]:
            get(f"{REVIEWS}/{definition['id']}/instances/{instance['id']}/decisions")


@pytest.mark.slow
def test_generated_graph_requests_get_no_5xx_and_graph_error_shapes(governed_vault):
    url, session = governed_vault.url, requests.Session()
    tokens = {p: governed_vault.credential(p).get_token(GRAPH_SCOPE).token for p in ("lead", "member")}

    def get(path: str) -> dict:
        response = session.get(
            url + path, headers={"Authorization": f"Bearer {tokens['lead']}"}, timeout=30, verify=governed_vault.ca
        )
        assert response.status_code == 200, f"GET {path} -> {response.status_code} {response.text[:300]}"
        return response.json()

    pools = _pools(governed_vault, get)
    lead = get("/v1.0/me")["id"]
    group = next(g["id"] for g in get("/v1.0/groups")["value"] if g["displayName"].endswith("_pipeline"))
    templates = _templates(pools, lead, group)
    statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    failures: list[str] = []

    def exercise(method: str, case) -> None:
        path, query, body, persona = case
        label = f"{method} {path}"
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            response = session.request(
                method,
                url + path,
                params=query,
                timeout=30,
                verify=governed_vault.ca,
                data=data if method in ("POST", "PATCH") else None,
                headers={"Authorization": f"Bearer {tokens[persona]}", "Content-Type": "application/json"},
            )
        except requests.RequestException as exc:
            failures.append(f"{label} {query}: {type(exc).__name__}")
            return
        statuses[method][response.status_code] += 1
        if response.status_code >= 500:
            failures.append(f"{label} {query} -> {response.status_code}: {response.text[:300]}")
        elif response.status_code >= 400:
            try:
                error = response.json()["error"]
                assert error["code"] and error["message"] and "request-id" in error["innerError"]
            except (ValueError, KeyError, TypeError, AssertionError):
                failures.append(
                    f"{label} {query} -> {response.status_code}, not Graph's error shape: {response.text[:200]}"
                )

    for route in graph_routes:
        for method in sorted(route.methods - {"HEAD"}):
            body = st.just(b"")
            if method in ("POST", "PATCH"):
                template = templates.get((method, route.path))
                body = st.one_of(bodies, mutations(template), mutations(template)) if template else bodies
            case = st.tuples(_path(route.path, pools), queries, body, st.sampled_from(["lead", "lead", "member"]))
            run_generated(case, EXAMPLES, lambda case, method=method: exercise(method, case))
    # Paths no route serves, under the Graph prefix.
    unknown = st.tuples(
        st.text(st.characters(whitelist_categories=("Ll", "Nd")), min_size=1, max_size=12).map(
            lambda s: f"/v1.0/{quote(s)}/x"
        ),
        queries,
        st.just(b""),
        st.just("lead"),
    )
    run_generated(unknown, EXAMPLES, lambda case: exercise("GET", case))

    total = sum(statuses.values(), collections.Counter())
    print(f"\nGraph fuzz: {sum(total.values())} requests over {len(graph_routes)} routes; statuses per method:")
    for method, counts in sorted(statuses.items()):
        print(f"  {method:<6} {dict(sorted(counts.items()))}")
    assert not failures, f"{len(failures)} failing responses:\n" + "\n".join(failures[:20])
    assert sum(n for code, n in total.items() if 200 <= code < 300) >= 20  # many requests reached the logic
    listings_still_answer(get)
    session.close()
