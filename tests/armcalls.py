"""Calling the local vault's ARM surface from the tests: the real AuthorizationManagementClient, a raw
HTTPS call for what no SDK operation covers, the error an SDK call must fail with, and the ARM ids
of the seed's vault, principals and role definitions."""

from __future__ import annotations

import gc
import json
import ssl
import urllib.error
import urllib.request

from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization import AuthorizationManagementClient

from kvnb.local.seed import scenario

ARM_SCOPE = "https://management.azure.com/.default"


def arm_client(local_vault, persona="lead", **kwargs) -> AuthorizationManagementClient:
    kwargs.setdefault("credential_scopes", [ARM_SCOPE])
    return local_vault._track(
        AuthorizationManagementClient(
            local_vault.credential(persona),
            local_vault.store.subscription_id,
            base_url=local_vault.url,
            connection_verify=local_vault.ca,
            **kwargs,
        )
    )


def call(
    local_vault,
    path: str,
    *,
    persona: str | None = "lead",
    token: str | None = None,
    method="GET",
    body: bytes | None = None,
    scope: str = ARM_SCOPE,
) -> tuple[int, dict, object]:
    """A raw HTTPS call (for what no SDK operation covers): status, JSON body, headers.

    The token is for ARM unless *scope* names another surface (Key Vault's or Graph's).
    """
    headers = {"content-type": "application/json"}
    if token is None and persona is not None:
        token = local_vault.credential(persona).get_token(scope).token
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(local_vault.url + path, data=body, method=method, headers=headers)
    context = ssl.create_default_context(cafile=local_vault.ca)
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}, response.headers
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else {}, exc.headers


def arm_error(operation, *args, **kwargs) -> tuple[int, str | None, str]:
    """Run an SDK call that must fail; (status, ARM error code, message).

    The exception is dropped and collected here: its traceback keeps the HTTP connection open, which
    would hold the server's graceful shutdown for seconds.
    """
    try:
        operation(*args, **kwargs)
    except HttpResponseError as exc:
        error = exc.error
        found = (exc.status_code, error.code if error else None, error.message if error else exc.message)
    else:
        raise AssertionError(f"{getattr(operation, '__name__', operation)} succeeded; an error was expected")
    gc.collect()
    return found


def vault_id(local_vault, name=scenario.FIRST_VAULT) -> str:
    return scenario.vault_scope(local_vault.store, name)


def object_id(local_vault, handle: str) -> str:
    return local_vault.store.db.execute("SELECT id FROM principals WHERE handle = ?", (handle,)).fetchone()[0]


def role_id(local_vault, guid: str) -> str:
    subscription = local_vault.store.subscription_id
    return f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
