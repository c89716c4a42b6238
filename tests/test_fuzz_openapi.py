"""Fuzz the Key Vault data plane with schemathesis, driven by the official OpenAPI file.

Every operation of `tests/data/keyvault-secrets-2026-04-01.json` (see `tests/data/README.md`) gets a
bounded number of generated requests, sent with the lead's (administrator's) valid token to an
empty local vault: schema-valid requests (positive mode, with an api-version the service knows, so
that many succeed) and schema-violating ones (negative mode, api-version included). Every response
must be free of 5xx and conform to the schema (the operation's 200/204 body, or `KeyVaultError`).

The spec's host is ``x-ms-parameterized-host`` `{vaultBaseUrl}` (the whole vault URL, no base path),
so the vault URL is the base URL. Failures are collected and reported together at the end, with
secret values masked, instead of letting Hypothesis print falsifying examples (which would show
the generated values).
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from fuzzing import first_line, run_generated

SPEC = Path(__file__).parent / "data" / "keyvault-secrets-2026-04-01.json"
POSITIVE_EXAMPLES = 40  # per operation
NEGATIVE_EXAMPLES = 15  # per operation
MIN_SUCCESS_SHARE = 0.2  # of the positive requests
# A life cycle, so that later operations meet the secrets earlier ones made, deleted or backed up.
ORDER = [
    "SetSecret",
    "GetSecrets",
    "GetSecret",
    "GetSecretVersions",
    "UpdateSecret",
    "BackupSecret",
    "DeleteSecret",
    "GetDeletedSecrets",
    "GetDeletedSecret",
    "RecoverDeletedSecret",
    "DeleteSecret",
    "PurgeDeletedSecret",
    "RestoreSecret",
]
CHECKS = [not_a_server_error, response_schema_conformance]
API_VERSION = {"api-version": "2026-04-01"}
# Names the operations share, so that gets, updates, backups and deletes meet secrets that exist.
# Only SetSecret's secret-name carries the spec's name pattern; elsewhere free strings are generated.
NAME_POOL = ("fuzz-secret", "F", "0-x")


def _mask(document):
    """A response body for a report: every `value` (a secret's, or a backup blob) masked."""
    if isinstance(document, dict):
        return {k: ("***" if k == "value" and isinstance(v, str) else _mask(v)) for k, v in document.items()}
    if isinstance(document, list):
        return [_mask(item) for item in document]
    return document


def _describe(case, response, problem: str) -> str:
    try:
        body = ""
        if response is not None and response.content:
            body = json.dumps(_mask(json.loads(response.content)))[:400]
    except ValueError:
        body = "<not JSON>"
    status = response.status_code if response is not None else "no response"
    return f"{case.operation.label} {case.path_parameters} {case.query} -> {status}: {problem} {body}"


def _positive(operation, backups: list[str]):
    """Schema-valid requests with a known api-version: free names, names from the pool, real backups."""
    parameters = {p.name for p in operation.iter_parameters()}
    free = operation.as_strategy(query=API_VERSION)
    if operation.definition.raw["operationId"] == "RestoreSecret":
        return st.one_of(free, *(operation.as_strategy(query=API_VERSION, body={"value": blob}) for blob in backups))
    if "secret-name" not in parameters:
        return free
    fixed = [{"secret-name": name} for name in NAME_POOL]
    if "secret-version" in parameters:  # an empty version is the latest, as the SDK sends it
        fixed += [{"secret-name": name, "secret-version": ""} for name in NAME_POOL]
    return st.one_of(free, *(operation.as_strategy(query=API_VERSION, path_parameters=p) for p in fixed))


def _negative(operation):
    """Schema-violating requests: some break the api-version, others keep it and break the rest."""
    negative = schemathesis.GenerationMode.NEGATIVE
    return st.one_of(
        operation.as_strategy(generation_mode=negative),
        operation.as_strategy(generation_mode=negative, query=API_VERSION),
    )


@pytest.fixture(scope="module")
def operations():
    schema = schemathesis.openapi.from_path(str(SPEC))
    found = {op.definition.raw["operationId"]: op for op in (r.ok() for r in schema.get_all_operations())}
    assert sorted(found) == sorted(set(ORDER)), "the spec's operations changed; update ORDER"
    return [found[name] for name in ORDER]


@pytest.mark.slow
def test_generated_requests_get_no_5xx_and_schema_conformant_responses(empty_vault, operations):
    token = empty_vault.credential("lead").get_token("https://vault.azure.net/.default").token
    session = requests.Session()
    session.verify = empty_vault.ca
    auth = {"Authorization": f"Bearer {token}"}
    statuses: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    failures: list[str] = []
    backups: list[str] = []

    def exercise(mode: str, case) -> None:
        response = None
        try:
            response = case.call(
                base_url=empty_vault.url, session=session, headers=auth, verify=empty_vault.ca, timeout=30
            )
            name = case.operation.definition.raw["operationId"]
            statuses[mode, name][response.status_code] += 1
            if name == "BackupSecret" and response.status_code == 200 and len(backups) < len(NAME_POOL):
                backups.append(response.json()["value"])  # kept in memory only, for RestoreSecret
            case.validate_response(response, checks=CHECKS, headers=auth)
        except FailureGroup as group:  # the checks' verdicts; reported below, values masked
            problem = "; ".join(f"{f.title}: {first_line(f.message)}" for f in group.exceptions)
            failures.append(f"[{mode}] " + _describe(case, response, problem[:300]))
        except Exception as exc:  # e.g. a dropped connection
            failures.append(f"[{mode}] " + _describe(case, response, type(exc).__name__))

    for operation in operations:
        runs = [
            ("positive", _positive(operation, backups), POSITIVE_EXAMPLES),
            ("negative", _negative(operation), NEGATIVE_EXAMPLES),
        ]
        for mode, strategy, examples in runs:
            run_generated(strategy, examples, lambda case, mode=mode: exercise(mode, case))
    session.close()

    totals = {
        mode: sum((c for (m, _), c in statuses.items() if m == mode), collections.Counter())
        for mode in ("positive", "negative")
    }
    positive = totals["positive"]
    share = sum(n for code, n in positive.items() if 200 <= code < 300) / max(1, sum(positive.values()))
    print("\nOpenAPI fuzz, statuses per operation (positive | negative):")
    for name in dict.fromkeys(ORDER):
        print(
            f"  {name:<22} {dict(sorted(statuses['positive', name].items()))} | "
            f"{dict(sorted(statuses['negative', name].items()))}"
        )
    print(
        f"  all: positive {dict(sorted(positive.items()))}, negative {dict(sorted(totals['negative'].items()))}; "
        f"2xx share of positive requests {share:.0%}"
    )
    assert not failures, f"{len(failures)} failing responses:\n" + "\n".join(failures[:20])
    assert share > MIN_SUCCESS_SHARE, f"only {share:.0%} of schema-valid requests succeeded"
    never = [name for name in ORDER if not any(200 <= code < 300 for code in statuses["positive", name])]
    assert not never, f"no schema-valid request succeeded for {never}"
