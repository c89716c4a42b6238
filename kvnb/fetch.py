"""Fetch secrets into masked ``Secret`` objects: one or several at once, with errors people can act on.

Not IPython-specific: ``%kvget`` is a thin wrapper over ``fetch_secrets``.

    from kvnb.fetch import fetch_secret, fetch_secrets
    api_key = fetch_secret("APICaller", vault="azDevOpsKV01")
    a, b = fetch_secrets(["APICaller", "WebhookSigningKey"], vault="local", persona="member")

Several names are fetched concurrently on a thread pool through one ``SecretClient`` (one
connection pool). Opened vaults are kept per (vault, persona) so a warm fetch costs one
``get_secret`` round trip and nothing else. azure-core's exceptions become ``kvnb.errors`` types
with short messages (see ``kvnb.azure_errors.from_azure_error``); each call is recorded in ``kvnb.ledger``.
"""

from __future__ import annotations

import json
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from kvnb import errors
from kvnb import ledger as _ledger
from kvnb.azure_errors import from_azure_error, result_code, with_access_package
from kvnb.fingerprint import short_fingerprint
from kvnb.names import check_name
from kvnb.tokens import unverified_claims

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

MAX_WORKERS = 8
MAX_LISTED_NAMES = 2000  # names read for "did you mean" suggestions
LIST_TIME_LIMIT = 5.0  # seconds spent reading them, at most


@dataclass(frozen=True)
class SecretRequest:
    """One secret to fetch: a name and optionally a version."""

    name: str
    version: str | None = None


@dataclass(frozen=True)
class Caller:
    """Who the vault saw, from the claims of the token the SDK presented."""

    object_id: str | None
    name: str | None  # UPN for a user, app id for an application
    tenant_id: str | None


# -- opened vaults -----------------------------------------------------------------------------------
_targets: dict[tuple, object] = {}
_targets_lock = threading.Lock()


def open_target(vault: str | None = None, *, persona: str | None = None, credential_options: dict | None = None):
    """``kvnb.vault.open_vault``, kept for reuse (same vault, same connection).

    :raises kvnb.errors.VaultReferenceError: as ``open_vault`` does.
    """
    options = json.dumps(credential_options, sort_keys=True, default=str) if credential_options else ""
    key = (
        vault or os.environ.get("KVNB_VAULT"),
        persona or os.environ.get("KVNB_PERSONA"),
        os.environ.get("KVNB_HOME"),
        options,
    )
    with _targets_lock:
        target = _targets.get(key)
        if target is None:
            from kvnb.vault import open_vault

            target = open_vault(vault, persona=persona, credential_options=credential_options)
            _targets[key] = target
        return target


def forget_target(target: VaultTarget) -> None:
    """Drop a kept vault (after its endpoint stopped answering) and close its clients."""
    with _targets_lock:
        for key in [k for k, t in _targets.items() if t is target]:
            del _targets[key]
    _close(target)


def close_targets() -> None:
    """Close every kept vault's clients (``%unload_ext kvnb`` calls this)."""
    with _targets_lock:
        kept = list(_targets.values())
        _targets.clear()
    for target in kept:
        _close(target)


def _close(target: VaultTarget) -> None:
    target.close()
    close = getattr(target.credential, "close", None)
    if close is not None:  # its token connection too, or servers wait on an idle socket
        close()


# -- fetching ----------------------------------------------------------------------------------------
def fetch_secret(
    name: str, *, version: str | None = None, vault: str | None = None, persona: str | None = None, **options
):
    """Fetch one secret as a masked ``kvnb.secret.Secret``; see ``fetch_secrets`` for *options*.

    Needs ``secrets/getSecret/action`` on the secret (Key Vault Secrets User), and raises what
    `fetch_secrets` raises for one secret (never ``FetchErrors``).
    """
    return fetch_secrets([SecretRequest(name, version)], vault=vault, persona=persona, **options)[0]


def fetch_secrets(
    requests: Iterable[str | SecretRequest],
    *,
    vault: str | None = None,
    persona: str | None = None,
    target: VaultTarget | None = None,
    client=None,
    peek_policy="deny",
    value_ttl: float | None = None,
    cache_ttl: float = 0,
    credential_options: dict | None = None,
    on_expired: Callable[[str], None] | None = None,
) -> list:
    """Fetch several secrets concurrently; returns ``Secret`` objects in the order asked.

    ``target`` (an opened vault) and ``client`` (a ``SecretClient``) override the kept ones.
    ``cache_ttl`` > 0 reuses a ``Secret`` fetched that many seconds ago or less (0: always ask
    the vault). A secret whose ``exp`` has passed is still returned, with a notice: passed to
    ``on_expired(message)`` when given (``%kvget`` prints it), else an ``ExpiredSecretWarning``.
    Every failure is raised together as ``FetchErrors`` (a single one as itself).

    Needs ``secrets/getSecret/action`` on each secret (Key Vault Secrets User).

    :raises kvnb.errors.VaultReferenceError: the vault cannot be named or opened.
    :raises kvnb.errors.InvalidSecretNameError: a name (or version) is not a Key Vault one.
    :raises kvnb.errors.SecretNotFoundError: no such secret or version (with close matches).
    :raises kvnb.errors.SecretDisabledError: the secret is disabled.
    :raises kvnb.errors.AccessDeniedError: RBAC refused; names the missing role and the access package
        to request.
    :raises kvnb.errors.NotSignedInError: no credential gave a token.
    :raises kvnb.errors.VaultUnreachableError: the vault did not answer.
    :raises kvnb.errors.ThrottledError: 429 after the SDK's retries.
    :raises kvnb.errors.FetchErrors: several secrets failed; each failure is in ``.errors``.
    """
    wanted = [r if isinstance(r, SecretRequest) else SecretRequest(r) for r in requests]
    for request in wanted:
        check_name(request.name, request.version)
    kept = target is None
    if kept:
        target = open_target(vault, persona=persona, credential_options=credential_options)
    fetcher = _Fetcher(target, client, peek_policy, value_ttl, cache_ttl, on_expired)
    try:
        return fetcher.all(wanted)
    except (errors.VaultUnreachableError, errors.FetchErrors) as exc:
        # A kept local vault may have been restarted on another port: open it again, once.
        unreachable = [e for e in getattr(exc, "errors", [exc]) if isinstance(e, errors.VaultUnreachableError)]
        if not (kept and client is None and target.is_local and unreachable):
            raise
        forget_target(target)
        target = open_target(vault, persona=persona, credential_options=credential_options)
        return _Fetcher(target, None, peek_policy, value_ttl, cache_ttl, on_expired).all(wanted)


def list_secret_names(
    *, vault: str | None = None, persona: str | None = None, target: VaultTarget | None = None
) -> list[str]:
    """Names of the vault's secrets the caller may list (needs secrets/readMetadata).

    Needs ``secrets/readMetadata/action`` on the vault (Key Vault Reader).

    :raises kvnb.errors.AccessDeniedError: the caller may not list.
    :raises kvnb.errors.NotSignedInError: no token.
    :raises kvnb.errors.VaultUnreachableError: the vault did not answer.
    """
    from azure.core.exceptions import AzureError

    target = target or open_target(vault, persona=persona)
    try:
        return _list_names(target.secret_client)
    except AzureError as exc:
        raise explained(exc, "", target) from None


def explained(exc, name: str, target: VaultTarget, **context) -> errors.KvnbError:
    """`from_azure_error`, and for an access denial the access package that would grant the role."""

    def package_for(role: str) -> str | None:
        from kvnb.governance import access_package_name

        return access_package_name(target, role)

    return with_access_package(from_azure_error(exc, name, target, **context), package_for)


def _list_names(client) -> list[str]:
    names: list[str] = []
    deadline = time.monotonic() + LIST_TIME_LIMIT
    for item in client.list_properties_of_secrets(max_page_size=25):
        names.append(item.name)
        if len(names) >= MAX_LISTED_NAMES or time.monotonic() > deadline:
            break
    return names


_cache: dict[tuple, tuple[float, object]] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every Secret kept for ``cache_ttl``."""
    with _cache_lock:
        _cache.clear()


class _Fetcher:
    """Fetches for one vault and identity; records every call in the ledger."""

    def __init__(self, target: VaultTarget, client, peek_policy, value_ttl, cache_ttl=0, on_expired=None):
        self.target = target
        self._client = client
        self.peek_policy = peek_policy
        self.value_ttl = value_ttl
        self.cache_ttl = cache_ttl or 0
        self.on_expired = on_expired
        self.caller: Caller | None = None

    @property
    def client(self):
        return self._client if self._client is not None else self.target.secret_client

    def all(self, wanted: list[SecretRequest]) -> list:
        if len(wanted) == 1:  # the usual case: no pool, nothing to gather
            outcome = self.outcome(wanted[0])
            if isinstance(outcome, errors.KvnbError):
                raise outcome
            return [outcome]
        self.client  # noqa: B018 (create the client before the threads share it)
        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(wanted)), thread_name_prefix="kvnb-fetch") as pool:
            outcomes = list(pool.map(self.outcome, wanted))
        failures = [o for o in outcomes if isinstance(o, errors.KvnbError)]
        if len(failures) == 1:
            raise failures[0]
        if failures:
            raise errors.FetchErrors(failures)
        return outcomes

    def outcome(self, request: SecretRequest):
        """The Secret, or the kvnb error (returned, not raised, so the others still complete)."""
        try:
            if self.cache_ttl > 0:
                return self.cached(request)
            return self.secret(request)
        except errors.KvnbError as exc:
            return exc

    def cached(self, request: SecretRequest):
        key = (self.target.url, self.target.persona, request.name, request.version)
        with _cache_lock:
            hit = _cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.cache_ttl:
            secret = hit[1]
            self._record(
                request.name,
                secret.version,
                None,
                "OK",
                fingerprint=secret.fingerprint,
                cached=True,
                identity=secret.identity,
            )
            return secret
        secret = self.secret(request)
        with _cache_lock:
            _cache[key] = (time.monotonic(), secret)
        return secret

    def secret(self, request: SecretRequest):
        from kvnb.secret import Secret

        bundle = self.get(request.name, request.version, record=False)
        properties = bundle.properties
        identity = self.identity()
        secret = Secret(
            bundle.value or "",
            name=request.name,
            vault_url=self.target.url,
            properties=properties,
            identity=identity,
            peek_policy=self.peek_policy,
            ttl=self.value_ttl,
            refetch=lambda version, name=request.name: self.refetch(name, version),
        )
        self._record(request.name, secret.version, None, "OK", fingerprint=secret.fingerprint, identity=identity)
        notice = expiry_notice(properties)
        if notice is not None:
            if self.on_expired is not None:
                self.on_expired(notice)
            else:
                warnings.warn(errors.ExpiredSecretWarning(notice), stacklevel=5)
        return secret

    def refetch(self, name: str, version: str | None):
        bundle = self.get(name, version)
        return bundle.value or "", bundle.properties

    def get(self, name: str, version: str | None, *, record: bool = True):
        from azure.core.exceptions import AzureError

        try:
            bundle = self.client.get_secret(name, version, raw_response_hook=self._saw_response)
        except AzureError as exc:
            self._record(name, version, None, result_code(exc))
            raise explained(
                exc, name, self.target, version=version, list_names=lambda: _list_names(self.client)
            ) from None
        if record:
            self._record(name, bundle.properties.version, bundle.value or "", "OK")
        return bundle

    def identity(self) -> str | None:
        caller = self.caller
        return (caller.name or caller.object_id) if caller else self.target.persona

    def _saw_response(self, response) -> None:
        header = response.http_request.headers.get("Authorization")
        if header:
            self.caller = caller_from_authorization(header)

    def _record(self, name, version, value, result, *, fingerprint=None, cached=False, identity=None) -> None:
        caller = self.caller
        if value is not None:
            fingerprint = short_fingerprint(value, self.target.url)
        _ledger.ledger.record(
            _ledger.FetchEvent(
                time=_ledger.now(),
                vault=self.target.name,
                vault_url=self.target.url,
                secret=name,
                version=version,
                identity=identity or self.identity(),
                object_id=caller.object_id if caller else None,
                fingerprint=fingerprint,
                result=result,
                cached=cached,
            )
        )


_claims_seen: dict[int, Caller] = {}


def caller_from_authorization(header: str) -> Caller | None:
    """The caller named by a ``Bearer`` JWT's claims (read, not verified: the vault verifies)."""
    key = hash(header)
    known = _claims_seen.get(key)
    if known is not None:
        return known
    try:
        claims = unverified_claims(header.split(" ", 1)[1])
    except (IndexError, ValueError):
        return None
    caller = Caller(
        object_id=claims.get("oid"),
        name=claims.get("upn") or claims.get("unique_name") or claims.get("appid"),
        tenant_id=claims.get("tid"),
    )
    if len(_claims_seen) > 64:
        _claims_seen.clear()
    _claims_seen[key] = caller
    return caller


def expiry_notice(properties) -> str | None:
    """What to tell the user about a secret whose ``exp`` has passed; None if it has not."""
    expires = getattr(properties, "expires_on", None)
    if expires is None or expires > datetime.now(timezone.utc):
        return None
    return (
        f"{properties.name} expired on {expires:%Y-%m-%d %H:%M} UTC (exp passed); Key Vault still "
        "returns it, but it is due for rotation: tell its owner."
    )
