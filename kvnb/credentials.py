"""The one place kvnb builds credentials: `new_credential`, sync or async, from one set of options.

On Azure kvnb uses ``DefaultAzureCredential`` with `AZURE_DEFAULTS` plus the caller's options
(``%config KvMagics.credential_options``). For the local vault it could too (``kvnb local env``
sets the variables), but one kernel may act as several local identities at once (a tutorial
switches from the new member to the lead), and ``DefaultAzureCredential`` reads its environment
once. So kvnb asks the same token endpoint with the App Service managed-identity protocol, per
persona, through azure-core (`LocalVaultCredential` and its async twin).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from azure.core import PipelineClient
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azure.core.pipeline.policies import RetryPolicy
from azure.core.rest import HttpRequest
from azure.identity import CredentialUnavailableError

from .errors import SettingError

_REFRESH_MARGIN = 300  # seconds before expiry, as MSAL does
# A notebook may read vaults of several tenants (``additionally_allowed_tenants``); the shared
# token cache is Windows' and Visual Studio's, and only slows every failure down.
AZURE_DEFAULTS: dict[str, Any] = {"additionally_allowed_tenants": ["*"], "exclude_shared_token_cache_credential": True}


@dataclass(frozen=True)
class LocalIdentity:
    """One local persona: the token endpoint, its identity header, and the CA to trust."""

    token_endpoint: str
    identity_header: str
    persona: str = ""
    connection_verify: str | bool = True


def new_credential(
    *, options: Mapping[str, Any] | None = None, local: LocalIdentity | None = None, asynchronous: bool = False
):
    """A new credential (the caller closes it): for the *local* persona, else ``DefaultAzureCredential``.

    *options* are ``DefaultAzureCredential`` keyword arguments over `AZURE_DEFAULTS` (ignored locally,
    where the persona decides who you are); *asynchronous* gives the ``azure.identity.aio`` twin with
    the same options.

    :raises kvnb.errors.SettingError: *options* holds a keyword ``DefaultAzureCredential`` does not take.
    """
    if local is not None:
        kind = AsyncLocalVaultCredential if asynchronous else LocalVaultCredential
        return kind(
            local.token_endpoint,
            local.identity_header,
            persona=local.persona,
            connection_verify=local.connection_verify,
        )
    if asynchronous:
        from azure.identity.aio import DefaultAzureCredential
    else:
        from azure.identity import DefaultAzureCredential  # type: ignore[assignment]
    try:
        return DefaultAzureCredential(**{**AZURE_DEFAULTS, **(options or {})})
    except TypeError as exc:  # an option it does not take, e.g. tenant_id
        raise SettingError(
            f"credential_options: {exc} See DefaultAzureCredential's keyword arguments "
            "(e.g. interactive_browser_tenant_id, managed_identity_client_id)."
        ) from None


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
            f"The local vault refused a token for {persona!r}: {detail} Check the name with `kvnb local personas`."
        )
    body = response.json()
    return AccessToken(body["access_token"], int(body["expires_on"]))


class _TokenCache:
    """What both credentials share: who they are, the request they send, and the token cache."""

    def __init__(self, token_endpoint: str, identity_header: str, persona: str):
        self.token_endpoint = token_endpoint
        self.identity_header = identity_header
        self.persona = persona
        self._cache: dict[str, AccessToken] = {}

    def _cached(self, resource: str) -> AccessToken | None:
        cached = self._cache.get(resource)
        return cached if cached and cached.expires_on - _REFRESH_MARGIN > time.time() else None

    def _request(self, resource: str) -> HttpRequest:
        return HttpRequest(
            "GET",
            self.token_endpoint,
            params={"api-version": "2019-08-01", "resource": resource},
            headers={"X-IDENTITY-HEADER": self.identity_header, "Metadata": "true"},
        )

    def _store(self, resource: str, response) -> AccessToken:
        token = _parse(response, self.persona)
        self._cache[resource] = token
        return token


def _unreachable(exc: Exception) -> ClientAuthenticationError:
    return ClientAuthenticationError(
        f"Cannot reach the local vault's token endpoint ({exc.__class__.__name__}). Run `kvnb local start`."
    )


class LocalVaultCredential(_TokenCache):
    """A ``TokenCredential`` for one local persona."""

    def __init__(
        self, token_endpoint: str, identity_header: str, *, persona: str = "", connection_verify: str | bool = True
    ):
        super().__init__(token_endpoint, identity_header, persona)
        self._client = PipelineClient(
            base_url=token_endpoint,
            policies=[RetryPolicy(retry_total=3)],
            connection_verify=connection_verify,
        )

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        resource = _resource(scopes)
        cached = self._cached(resource)
        if cached:
            return cached
        try:
            response = self._client.send_request(self._request(resource))
        except Exception as exc:  # the transport's errors: the vault is not reachable
            raise _unreachable(exc) from None
        return self._store(resource, response)

    def close(self) -> None:
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AsyncLocalVaultCredential(_TokenCache):
    """The async twin of `LocalVaultCredential` (an ``AsyncTokenCredential``)."""

    def __init__(
        self, token_endpoint: str, identity_header: str, *, persona: str = "", connection_verify: str | bool = True
    ):
        from azure.core import AsyncPipelineClient
        from azure.core.pipeline.policies import AsyncRetryPolicy

        super().__init__(token_endpoint, identity_header, persona)
        self._client = AsyncPipelineClient(
            base_url=token_endpoint,
            policies=[AsyncRetryPolicy(retry_total=3)],
            connection_verify=connection_verify,
        )

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        resource = _resource(scopes)
        cached = self._cached(resource)
        if cached:
            return cached
        try:
            response = await self._client.send_request(self._request(resource))
            await response.read()
        except Exception as exc:
            raise _unreachable(exc) from None
        return self._store(resource, response)

    async def close(self) -> None:
        await self._client.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
