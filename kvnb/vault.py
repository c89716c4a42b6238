"""Which vault, which endpoints, which credential: the one place that knows local from Azure.

A vault is named by

* a URL: ``https://azdevopskv01.vault.azure.net/`` (a loopback URL means the local vault);
* a bare vault name: ``azDevOpsKV01`` → ``https://azdevopskv01.vault.azure.net/``;
* ``local`` (the first local vault, ``azDevOpsKV01``) or ``local:NAME`` (another local vault).

Selection order, first found wins: the argument → ``%config KvMagics.vault`` (the magics pass it
as the argument) → the ``KVNB_VAULT`` environment variable. For the local vault the identity is
``persona=`` → ``KVNB_PERSONA`` → `kvnb local login` → ``lead``. On Azure the credential is
``DefaultAzureCredential`` with the options the team's snippet used, plus ``credential_options``
(``%config KvMagics.credential_options``); `kvnb.credentials` builds it, sync and async alike.

Everything above this module talks to the returned clients only; nothing else branches on local
versus Azure. `open_vault` raises kvnb's own errors only (`kvnb.errors.VaultReferenceError` and
its subclasses), so callers catch ``KvnbError`` and let anything else be the bug it is.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import (
    LocalVaultError,
    LocalVaultNotRunningError,
    LocalVaultStartError,
    VaultNameError,
    VaultReferenceError,
)
from .suggest import did_you_mean
from .surface import vault_setting

AZURE_VAULT_SUFFIX = ".vault.azure.net"
AZURE_ARM = "https://management.azure.com"
AZURE_GRAPH = "https://graph.microsoft.com"
if TYPE_CHECKING:
    from .credentials import LocalIdentity

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_VAULT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{2,23}$")


@dataclass
class VaultTarget:
    """A resolved vault: where its endpoints are and who we are there."""

    name: str
    url: str
    is_local: bool
    credential: Any
    arm_url: str = AZURE_ARM
    graph_url: str = AZURE_GRAPH
    connection_verify: str | bool = True
    persona: str | None = None
    known_resource_id: str | None = None  # the vault's ARM id when known up front (always, locally)
    tenant_id: str | None = None
    credential_options: dict = field(default_factory=dict)  # DefaultAzureCredential's, on Azure
    local_identity: LocalIdentity | None = None  # the persona's token endpoint, on the local vault
    _looked_up: bool = field(default=False, init=False, repr=False)

    @property
    def resource_id(self) -> str | None:
        """The vault's ARM resource id; on Azure looked up once through ARM (None when not visible)."""
        if self.known_resource_id is None and not self.is_local and not self._looked_up:
            self._looked_up = True
            self.known_resource_id = find_vault_resource_id(self)
        return self.known_resource_id

    @property
    def subscription_id(self) -> str | None:
        resource_id = self.resource_id
        return resource_id.split("/")[2] if resource_id else None

    @property
    def arm_scope(self) -> str:
        return "https://management.azure.com/.default"

    @property
    def graph_scope(self) -> str:
        return "https://graph.microsoft.com/.default"

    def _client_options(self) -> dict:
        options: dict = {"connection_verify": self.connection_verify}
        if self.is_local:
            # The challenge names vault.azure.net, which a loopback host can never be a
            # subdomain of; the Azure CLI disables the same check for any non-Azure vault.
            options["verify_challenge_resource"] = False
        return options

    @cached_property
    def secret_client(self):
        from azure.keyvault.secrets import SecretClient

        return SecretClient(self.url, self.credential, **self._client_options())

    @asynccontextmanager
    async def async_secret_client(self, **options):
        """``async with target.async_secret_client() as client:`` an aio SecretClient.

        Each call gets its own async credential, closed with the client: aiohttp sessions belong to
        one event loop, and notebooks and the CLI run each job in a fresh one.
        """
        from azure.keyvault.secrets.aio import SecretClient

        credential = self.new_async_credential()
        client = SecretClient(self.url, credential, **{**self._client_options(), **options})
        try:
            yield client
        finally:
            await client.close()
            await credential.close()

    def new_async_credential(self):
        """A new async credential for this target, with the same options (the caller closes it)."""
        from .credentials import new_credential

        return new_credential(options=self.credential_options, local=self.local_identity, asynchronous=True)

    @cached_property
    def authorization_client(self):
        from azure.mgmt.authorization import AuthorizationManagementClient

        if not self.subscription_id:
            raise VaultNameError(
                f"Cannot find the resource of vault {self.name!r} in any subscription you can read. "
                "Set KVNB_VAULT_RESOURCE_ID to its resource id (Portal: the vault's Properties, Resource ID)."
            )
        return AuthorizationManagementClient(
            self.credential,
            self.subscription_id,
            base_url=self.arm_url,
            credential_scopes=[self.arm_scope],
            connection_verify=self.connection_verify,
        )

    def close(self) -> None:
        """Close the clients and the credential (their idle connections otherwise linger)."""
        for name in ("secret_client", "authorization_client", "graph_client"):
            client = self.__dict__.pop(name, None)
            if client is not None:
                client.close()
        close = getattr(self.credential, "close", None)
        if close is not None:
            close()

    @cached_property
    def graph_client(self):
        from .graph import GraphClient

        return GraphClient.from_target(self)


def azure_vault_url(name: str) -> str:
    if not _VAULT_NAME.match(name) or "--" in name:
        raise VaultNameError(
            f"{name!r} is not a vault name (3-24 letters, digits and dashes, starting with a letter). "
            "Give a name like azDevOpsKV01, a URL, or `local`."
        )
    return f"https://{name.lower()}{AZURE_VAULT_SUFFIX}/"


def resolve_reference(vault: str | None) -> str:
    reference = (vault or os.environ.get("KVNB_VAULT") or "").strip()
    if not reference:
        raise VaultNameError(
            "No vault given. Pass one (a name like azDevOpsKV01, a URL, or `local`), "
            f"{vault_setting()}, or set KVNB_VAULT."
        )
    return reference


def open_vault(
    vault: str | None = None,
    *,
    persona: str | None = None,
    start_local: bool = True,
    credential_options: dict | None = None,
) -> VaultTarget:
    """Resolve *vault* (see the module docstring) to endpoints, a credential and clients.

    No request reaches the vault yet; on the local vault this starts it unless *start_local* is
    False. *credential_options* are keyword arguments for ``DefaultAzureCredential`` (Azure only;
    e.g. ``{"tenant_id": ...}``).

    :raises kvnb.errors.VaultNameError: the reference is none of the accepted forms, *persona* is
        given for an Azure vault, or no local vault has that name or port.
    :raises kvnb.errors.LocalVaultError: the local vault is not running (with *start_local* False),
        did not start, or its state directory cannot be used (`LocalVaultNotRunningError`,
        `LocalVaultStartError`).
    :raises kvnb.errors.VaultReferenceError: *persona* is not a local identity that can sign in.
    """
    reference = resolve_reference(vault)
    lowered = reference.lower()
    if lowered == "local" or lowered.startswith("local:"):
        return _open_local(reference.partition(":")[2] or None, persona, start_local)
    if "://" in reference:
        parts = urlsplit(reference)
        if parts.scheme != "https" or not parts.hostname:
            raise VaultNameError(f"{reference!r} is not an https vault URL.")
        if parts.hostname in _LOOPBACK:
            return _open_local_by_port(parts.port, persona, start_local)
        url = f"https://{parts.netloc}/"
        name = parts.hostname.split(".")[0]
    else:
        url = azure_vault_url(reference)
        name = reference
    if persona:
        raise VaultNameError("--persona works only with the local vault; on Azure you are who `az login` says.")
    from .credentials import new_credential

    options = dict(credential_options or {})
    return VaultTarget(
        name=name,
        url=url,
        is_local=False,
        credential=new_credential(options=options),
        credential_options=options,
        known_resource_id=os.environ.get("KVNB_VAULT_RESOURCE_ID") or None,
    )


def find_vault_resource_id(target: VaultTarget) -> str | None:
    """Look the vault up in every subscription the caller can read (ARM's resources list).

    Data-plane URLs do not name the subscription, but role assignments and vault properties live
    under the resource id. None when the caller can read no subscription holding it.
    """
    from azure.core import PipelineClient
    from azure.core.exceptions import HttpResponseError, ServiceRequestError
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
    from azure.core.rest import HttpRequest

    client = PipelineClient(
        target.arm_url,
        connection_verify=target.connection_verify,
        policies=[RetryPolicy(), BearerTokenCredentialPolicy(target.credential, target.arm_scope)],
    )
    query = f"resourceType eq 'Microsoft.KeyVault/vaults' and name eq '{target.name}'"
    try:
        with client:
            subscriptions = client.send_request(
                HttpRequest("GET", f"{target.arm_url}/subscriptions", params={"api-version": "2022-12-01"})
            )
            subscriptions.raise_for_status()
            for subscription in subscriptions.json().get("value", []):
                found = client.send_request(
                    HttpRequest(
                        "GET",
                        f"{target.arm_url}/subscriptions/{subscription['subscriptionId']}/resources",
                        params={"api-version": "2021-04-01", "$filter": query},
                    )
                )
                if found.status_code == 200:
                    for resource in found.json().get("value", []):
                        if resource.get("name", "").lower() == target.name.lower():
                            return resource["id"]
    except (HttpResponseError, ServiceRequestError):
        return None
    return None


@contextmanager
def _local_errors(persona: str | None = None) -> Iterator[None]:
    """The local vault's own exceptions, as the kvnb errors `open_vault` promises (an unknown *persona*
    with the names close to it)."""
    from . import local

    try:
        yield
    except local.NotRunning as exc:
        raise LocalVaultNotRunningError(str(exc)) from None
    except local.StartFailed as exc:
        raise LocalVaultStartError(str(exc)) from None
    except (local.StateDirError, local.AdminError) as exc:
        raise LocalVaultError(str(exc)) from None
    except LookupError as exc:  # no such persona, or a group: who to be instead is the user's choice
        if isinstance(exc, (KeyError, IndexError)):  # bugs, not choices
            raise
        hint = did_you_mean(persona, [p.handle for p in local.personas() if p.can_sign_in]) if persona else ""
        raise VaultReferenceError(f"{exc}{hint} Pick one with --persona NAME (names: `kvnb local personas`).") from None


def _local_runtime(start_local: bool):
    """The running local vault, started first if need be and *start_local*; its failures as kvnb errors."""
    from . import local

    with _local_errors():
        if start_local and local.running() is None:
            # Starting takes seconds: say why this call is slow rather than leave the reader waiting.
            print("Starting the local vault (not running)…", file=sys.stderr, flush=True)
        return local.connect(start_if_stopped=start_local)


def _open_local(name: str | None, persona: str | None, start_local: bool) -> VaultTarget:
    runtime = _local_runtime(start_local)
    vaults = runtime.vaults
    if name:
        vaults = [v for v in runtime.vaults if v["name"].lower() == name.lower()]
        if not vaults:
            names = [v["name"] for v in runtime.vaults]
            raise VaultNameError(
                f"No local vault {name!r} (running: {', '.join(names)}).{did_you_mean(name, names)} "
                f"Add one with `kvnb local add-vault {name}`."
            )
    return _local_target(runtime, vaults[0], persona)


def _open_local_by_port(port: int | None, persona: str | None, start_local: bool) -> VaultTarget:
    runtime = _local_runtime(start_local)
    match = [v for v in runtime.vaults if v["port"] == (port or 443)]
    if not match:
        raise VaultNameError(f"No local vault listens on port {port}. See `kvnb local status`.")
    return _local_target(runtime, match[0], persona)


def _local_target(runtime, vault: dict, persona: str | None) -> VaultTarget:
    from . import local
    from .credentials import LocalIdentity, new_credential

    with _local_errors():
        persona = persona or os.environ.get("KVNB_PERSONA") or local.default_persona(runtime.home)
    with _local_errors(persona):
        header = local.identity_header(persona, runtime.home)
    ca = str(runtime.ca_path)
    identity = LocalIdentity(runtime.token_endpoint, header, persona=persona, connection_verify=ca)
    return VaultTarget(
        name=vault["name"],
        url=f"https://127.0.0.1:{vault['port']}",
        is_local=True,
        credential=new_credential(local=identity),
        local_identity=identity,
        arm_url=runtime.base_url,
        graph_url=runtime.base_url,
        connection_verify=ca,
        persona=persona,
        known_resource_id=vault["resource_id"],
        tenant_id=runtime.tenant_id,
    )
