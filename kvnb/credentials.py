"""Credentials for the local vault: the App Service managed-identity protocol, one persona each.

On Azure kvnb uses ``DefaultAzureCredential``. For the local vault it could too (``kvnb local env``
sets the variables), but one kernel may act as several local identities at once (a tutorial
switches from the new member to the lead), and ``DefaultAzureCredential`` reads its environment
once. So kvnb asks the same token endpoint with the same protocol, per persona, through azure-core.
"""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azure.core import PipelineClient
from azure.core.pipeline.policies import RetryPolicy
from azure.core.rest import HttpRequest
from azure.identity import CredentialUnavailableError

_REFRESH_MARGIN = 300  # seconds before expiry, as MSAL does


def _resource(scopes: tuple[str, ...]) -> str:
    if len(scopes) != 1:
        raise ValueError("A managed identity token is for exactly one scope.")
    scope = scopes[0]
    return scope[: -len("/.default")] if scope.endswith("/.default") else scope


def _parse(response, persona: str) -> AccessToken:
    if response.status_code != 200:
        try:
            detail = response.json().get("error_description") or response.text()
        except ValueError:
            detail = response.text()
        raise CredentialUnavailableError(
            f"The local vault refused a token for {persona!r}: {detail} "
            "Check the name with `kvnb local personas`."
        )
    body = response.json()
    return AccessToken(body["access_token"], int(body["expires_on"]))


class LocalVaultCredential:
    """A ``TokenCredential`` for one local persona."""

    def __init__(self, token_endpoint: str, identity_header: str, *, persona: str = "",
                 connection_verify: str | bool = True):
        self.token_endpoint = token_endpoint
        self.identity_header = identity_header
        self.persona = persona
        self._client = PipelineClient(
            base_url=token_endpoint, policies=[RetryPolicy(retry_total=3)],
            connection_verify=connection_verify,
        )
        self._cache: dict[str, AccessToken] = {}

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        resource = _resource(scopes)
        cached = self._cache.get(resource)
        if cached and cached.expires_on - _REFRESH_MARGIN > time.time():
            return cached
        request = HttpRequest(
            "GET", self.token_endpoint, params={"api-version": "2019-08-01", "resource": resource},
            headers={"X-IDENTITY-HEADER": self.identity_header, "Metadata": "true"},
        )
        try:
            response = self._client.send_request(request)
        except Exception as exc:  # the transport's errors: the vault is not reachable
            raise ClientAuthenticationError(
                f"Cannot reach the local vault's token endpoint ({exc.__class__.__name__}). "
                "Run `kvnb local start`."
            ) from None
        token = _parse(response, self.persona)
        self._cache[resource] = token
        return token

    def close(self) -> None:
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AsyncLocalVaultCredential:
    """The async twin of `LocalVaultCredential` (an ``AsyncTokenCredential``)."""

    def __init__(self, token_endpoint: str, identity_header: str, *, persona: str = "",
                 connection_verify: str | bool = True):
        from azure.core import AsyncPipelineClient
        from azure.core.pipeline.policies import AsyncRetryPolicy

        self.token_endpoint = token_endpoint
        self.identity_header = identity_header
        self.persona = persona
        self._client = AsyncPipelineClient(
            base_url=token_endpoint, policies=[AsyncRetryPolicy(retry_total=3)],
            connection_verify=connection_verify,
        )
        self._cache: dict[str, AccessToken] = {}

    async def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                        enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        resource = _resource(scopes)
        cached = self._cache.get(resource)
        if cached and cached.expires_on - _REFRESH_MARGIN > time.time():
            return cached
        request = HttpRequest(
            "GET", self.token_endpoint, params={"api-version": "2019-08-01", "resource": resource},
            headers={"X-IDENTITY-HEADER": self.identity_header, "Metadata": "true"},
        )
        try:
            response = await self._client.send_request(request)
            await response.read()
        except Exception as exc:
            raise ClientAuthenticationError(
                f"Cannot reach the local vault's token endpoint ({exc.__class__.__name__}). "
                "Run `kvnb local start`."
            ) from None
        token = _parse(response, self.persona)
        self._cache[resource] = token
        return token

    async def close(self) -> None:
        await self._client.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
