"""The Key Vault secrets data plane over HTTP: the twelve operations, as the official SDKs call them.

HTTP concerns only: routing, the 401 challenge, api-version, RBAC, request bodies, response shapes,
paging links and headers. The operations themselves are `secretstore`'s.

Order of checks, as the SDK's challenge flow needs it: a request without a valid token gets the
401 challenge before anything else is looked at (the SDK's first request is bodiless), then the
api-version, the path and name, the caller's RBAC permission, and only then the body.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import uuid
import weakref
from dataclasses import dataclass
from functools import partial

import jwt
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from ...permissions import SECRET_DATA_ACTIONS, VAULT_LEVEL_OPERATIONS
from ..identity.issuer import InvalidToken
from ..identity.rbac import forbidden_by_rbac_message
from ..server import bodies
from ..state import backup as secretbackup
from ..state import secrets as secretstore
from . import errors as kverrors
from .errors import KeyVaultError

log = logging.getLogger("kvnb.local.keyvault")

# Every api-version the official clients send: the SDK's ApiVersion enum, the versions its
# generated validation knows (previews included), and older previews; 7.4 is the Azure CLI's.
API_VERSIONS = frozenset(
    {
        "2016-10-01",
        "7.0",
        "7.1",
        "7.2",
        "7.3",
        "7.4",
        "7.5",
        "7.6",
        "2025-07-01",
        "2026-04-01",
        "7.0-preview",
        "7.1-preview",
        "7.2-preview",
        "7.3-preview",
        "7.4-preview.1",
        "7.5-preview.1",
        "7.6-preview.1",
        "7.6-preview.2",
        "2025-06-01-preview",
        "2026-01-01-preview",
        "2026-03-01-preview",
    }
)
SERVICE_VERSION = "1.9.2781.1"
_JSON = "application/json; charset=utf-8"
_OUT_CONTENT_TYPES = frozenset({"application/x-pkcs12", "application/x-pem-file"})


@dataclass(frozen=True)
class _Vault:
    name: str
    resource_id: str
    location: str


_VAULT_INFO_TTL = 1.0  # seconds; a vault's ARM id and region practically never change
_vault_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _vault_info(service, name: str) -> _Vault:
    """The vault's ARM id and region, kept for a second: no database query on the hot path."""
    per_store = _vault_cache.setdefault(service.store, {})
    cached = per_store.get(name)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    row = service.vault_row(name)
    info = _Vault(row["name"], service.resource_id(row["name"]), row["location"])
    per_store[name] = (now + _VAULT_INFO_TTL, info)
    return info


# -- response shapes -------------------------------------------------------------------------------
def shape(record, base: str, *, value: bool = False, versioned: bool = True, deleted: bool = False) -> dict:
    """A SecretBundle (``value``), SecretItem (``versioned=False``) or their Deleted* forms (``deleted``)."""
    document = {}
    if deleted and record.deleted_date is not None:  # None: deleted for good, the vault has no soft delete
        document = {
            "recoveryId": f"{base}/deletedsecrets/{record.name}",
            "deletedDate": record.deleted_date,
            "scheduledPurgeDate": record.scheduled_purge_date,
        }
    if value:
        document["value"] = record.value
    document["id"] = f"{base}/secrets/{record.name}/{record.version}" if versioned else f"{base}/secrets/{record.name}"
    if record.content_type is not None:
        document["contentType"] = record.content_type
    attributes = document["attributes"] = {"enabled": record.enabled}
    if record.not_before is not None:
        attributes["nbf"] = record.not_before
    if record.expires is not None:
        attributes["exp"] = record.expires
    attributes.update(
        created=record.created,
        updated=record.updated,
        recoverableDays=record.recoverable_days,
        recoveryLevel=record.recovery_level,
    )
    if record.tags:
        document["tags"] = record.tags
    if record.managed:
        document["managed"] = True
    return document


# -- paging ----------------------------------------------------------------------------------------------
def _max_results(request: Request) -> tuple[int | None, str | None]:
    raw = request.query_params.get("maxresults")
    if raw is None:
        return None, None
    try:
        return int(raw.strip()), raw.strip()
    except ValueError:
        raise kverrors.invalid_maxresults(raw) from None


def _skiptoken(request: Request) -> str | None:
    token = request.query_params.get("$skiptoken")
    if not token:
        return None
    try:
        marker = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["NextMarker"]
    except (ValueError, binascii.Error, KeyError, TypeError):
        raise kverrors.invalid_skiptoken() from None
    if not isinstance(marker, str):
        raise kverrors.invalid_skiptoken()
    return marker


async def _listing(ctx, path: str, lister, **shape_options) -> tuple[int, dict]:
    size, raw_max = _max_results(ctx.request)
    page = lister(max_results=size, after=_skiptoken(ctx.request))
    document = {"value": [shape(r, ctx.base, **shape_options) for r in page.items]}
    if page.next_marker is not None:  # the last page has none (the spec types nextLink as a plain string)
        # Opaque like the service's: base64url of {"NextMarker": …, "TargetLocation": 0}.
        marker = json.dumps({"NextMarker": page.next_marker, "TargetLocation": 0}, separators=(",", ":"))
        token = base64.urlsafe_b64encode(marker.encode()).rstrip(b"=").decode()
        document["nextLink"] = f"{ctx.base}{path}?api-version={ctx.api_version}&$skiptoken={token}"
        if raw_max is not None:
            document["nextLink"] += f"&maxresults={raw_max}"
    return 200, document


# -- request bodies ----------------------------------------------------------------------------------
@dataclass
class _Context:
    request: Request
    store: object
    vault: _Vault
    base: str
    api_version: str
    name: str | None
    version: str | None


async def _json_body(request: Request) -> dict:
    try:
        return await bodies.json_object(request)
    except bodies.BodyTooLarge as exc:  # unverified: the status and code the service gives an oversized body
        raise KeyVaultError(str(exc), code="RequestEntityTooLarge", status=413) from None
    except bodies.BodyError as exc:  # unverified wording
        raise kverrors.BadParameter(str(exc)) from None


def _properties_in(body: dict) -> dict:
    """The settable properties of a SecretSetParameters / SecretUpdateParameters body."""
    attributes = body.get("attributes")
    if attributes is None:
        attributes = {}
    elif not isinstance(attributes, dict):
        raise kverrors.invalid_property("attributes")
    return {
        "content_type": body.get("contentType"),
        "tags": body.get("tags"),
        "enabled": attributes.get("enabled"),
        "nbf": attributes.get("nbf"),
        "exp": attributes.get("exp"),
    }


# -- the operations ------------------------------------------------------------------------------------
async def _set(ctx):
    body = await _json_body(ctx.request)
    if "value" not in body:
        raise kverrors.invalid_property("value")
    record = secretstore.set_secret(ctx.store, ctx.vault.name, ctx.name, body["value"], **_properties_in(body))
    return 200, shape(record, ctx.base, value=True)


async def _get(ctx):
    out = ctx.request.query_params.get("outContentType")
    if out is not None and out not in _OUT_CONTENT_TYPES:
        raise kverrors.invalid_property("outContentType")
    record = secretstore.get_secret(ctx.store, ctx.vault.name, ctx.name, ctx.version)
    return 200, shape(record, ctx.base, value=True)


async def _update(ctx):
    body = await _json_body(ctx.request)
    record = secretstore.update_properties(ctx.store, ctx.vault.name, ctx.name, ctx.version, **_properties_in(body))
    return 200, shape(record, ctx.base)


async def _list(ctx):
    return await _listing(
        ctx, "/secrets", partial(secretstore.list_secrets, ctx.store, ctx.vault.name), versioned=False
    )


async def _versions(ctx):
    lister = partial(secretstore.list_versions, ctx.store, ctx.vault.name, ctx.name)
    return await _listing(ctx, f"/secrets/{ctx.name}/versions", lister)


async def _list_deleted(ctx):
    return await _listing(
        ctx,
        "/deletedsecrets",
        partial(secretstore.list_deleted, ctx.store, ctx.vault.name),
        versioned=False,
        deleted=True,
    )


async def _delete(ctx):
    return 200, shape(secretstore.delete_secret(ctx.store, ctx.vault.name, ctx.name), ctx.base, deleted=True)


async def _get_deleted(ctx):
    return 200, shape(secretstore.get_deleted(ctx.store, ctx.vault.name, ctx.name), ctx.base, deleted=True)


async def _recover(ctx):
    return 200, shape(secretstore.recover(ctx.store, ctx.vault.name, ctx.name), ctx.base)


async def _purge(ctx):
    secretstore.purge(ctx.store, ctx.vault.name, ctx.name)
    return 204, None


async def _backup(ctx):
    blob = secretbackup.backup(ctx.store, ctx.vault.name, ctx.name)
    return 200, {"value": base64.urlsafe_b64encode(blob).rstrip(b"=").decode()}


async def _restore(ctx):
    value = (await _json_body(ctx.request)).get("value")
    if not isinstance(value, str):
        raise kverrors.invalid_property("value")
    try:
        blob = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, binascii.Error):
        raise kverrors.undecryptable_backup() from None
    return 200, shape(secretbackup.restore(ctx.store, ctx.vault.name, blob), ctx.base)


_HANDLERS = {
    "set": _set,
    "get": _get,
    "update": _update,
    "list": _list,
    "list_versions": _versions,
    "delete": _delete,
    "get_deleted": _get_deleted,
    "list_deleted": _list_deleted,
    "recover": _recover,
    "purge": _purge,
    "backup": _backup,
    "restore": _restore,
}
# route name → (handler, data action, whether the RBAC resource is the secret rather than the vault)
_OPERATIONS = {
    ("versions" if op == "list_versions" else op): (handler, SECRET_DATA_ACTIONS[op], op not in VAULT_LEVEL_OPERATIONS)
    for op, handler in _HANDLERS.items()
}


def resolve(collection: str, method: str, segments: list[str]) -> tuple[str, str | None, str | None]:
    """(operation, name, version) for the path segments below /secrets or /deletedsecrets."""
    segments = [] if segments == [""] else segments
    count, name, version = len(segments), (segments[0] if segments else None), None
    table: dict[str, str] = {}
    if collection == "secrets":
        if count == 0:
            table = {"GET": "list"}
        elif count == 1 and name == "restore" and method == "POST":
            table, name = {"POST": "restore"}, None
        elif count == 1:
            table = {"PUT": "set", "GET": "get", "PATCH": "update", "DELETE": "delete"}
        elif count == 2 and (segments[1], method) in (("versions", "GET"), ("backup", "POST")):
            table = {method: segments[1]}
        elif count == 2:  # an empty version (`/secrets/{name}/`) means the latest
            table, version = {"GET": "get", "PATCH": "update"}, segments[1] or None
    elif count < 2:
        table = [{"GET": "list_deleted"}, {"GET": "get_deleted", "DELETE": "purge"}][count]
    elif count == 2 and segments[1] == "recover":
        table = {"POST": "recover"}
    if not table:
        raise kverrors.not_found_path()
    if method not in table:
        raise kverrors.method_not_allowed(method)
    return table[method], name, version


# -- the endpoint ----------------------------------------------------------------------------------------
_STATIC_HEADERS = (
    (b"cache-control", b"no-cache"),
    (b"pragma", b"no-cache"),
    (b"expires", b"-1"),
    (b"x-ms-keyvault-service-version", SERVICE_VERSION.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"strict-transport-security", b"max-age=31536000;includeSubDomains"),
)
_RBAC_CACHE = b"ra_age=0;da_age=0;rd_age=0;brd_age=0;ra_notif_age=0;dec_lev=1;"


class _Reply(Response):
    """A response from headers built raw (every data-plane response carries the service's set)."""

    def __init__(self, status: int, document, headers: dict[bytes, str]):
        self.status_code, self.background = status, None
        self.body = b"" if document is None else kverrors.dumps(document)
        raw = list(_STATIC_HEADERS)
        raw += [(key, value.encode("latin-1")) for key, value in headers.items()]
        if document is not None:
            raw += [(b"content-type", _JSON.encode()), (b"content-length", str(len(self.body)).encode())]
        self.raw_headers = raw


def _headers(request: Request) -> dict[bytes, str]:
    client = request.scope.get("client") or ("127.0.0.1", 0)
    headers = {
        b"x-ms-keyvault-region": "local",
        b"x-ms-request-id": str(uuid.uuid4()),
        b"x-ms-keyvault-network-info": f"conn_type=Ipv4;addr={client[0]};act_addr_fam=InterNetwork;",
    }
    client_request_id = request.headers.get("x-ms-client-request-id")
    if client_request_id and client_request_id.isascii():
        headers[b"x-ms-client-request-id"] = client_request_id
    return headers


def _challenge(request: Request, service, reason: str) -> KeyVaultError:
    if reason == "missing":
        return kverrors.missing_token()
    if "audience" in reason.lower():
        try:
            token = request.headers["authorization"].split(" ", 1)[1].strip()
            found = jwt.decode(token, options={"verify_signature": False}).get("aud")
        except (jwt.PyJWTError, KeyError, IndexError):
            found = None
        return kverrors.invalid_audience(service.keyvault_resource(request), str(found))
    return kverrors.invalid_token(reason)


async def _handle(request: Request, collection: str, headers: dict[bytes, str]) -> Response:
    service = request.app.state.service
    vault_name = service.vault_name(request)
    if vault_name is None:
        raise kverrors.not_found_path()
    vault = _vault_info(service, vault_name)
    headers[b"x-ms-keyvault-region"] = vault.location
    try:
        caller = service.authenticate(request, "keyvault")
    except InvalidToken as exc:
        headers[b"www-authenticate"] = (
            f'Bearer authorization="https://login.microsoftonline.com/{service.issuer.tenant_id}", '
            f'resource="{service.keyvault_resource(request)}"'
        )
        raise _challenge(request, service, str(exc)) from None

    api_version = request.query_params.get("api-version")
    if not api_version:
        raise kverrors.missing_api_version()
    if api_version not in API_VERSIONS:
        raise kverrors.unknown_api_version(api_version)

    segments = request.scope["path"].split("/")[2:]
    operation, name, version = resolve(collection, request.method, segments)
    if name is not None:
        secretstore.validate_name(name)
    handler, action, per_secret = _OPERATIONS[operation]
    resource = f"{vault.resource_id}/secrets/{name}" if per_secret else vault.resource_id
    decision = service.authorizer.check(caller.oid, action, resource, data_action=True)
    if not decision.allowed:
        message = forbidden_by_rbac_message(
            caller.appid, caller.oid, caller.tid, action, resource, vault.name, vault.location
        )
        raise kverrors.Forbidden(message, inner="ForbiddenByRbac")
    headers[b"x-ms-keyvault-rbac-assignment-id"] = decision.assignment or ""
    headers[b"x-ms-keyvault-rbac-cache"] = _RBAC_CACHE.decode()

    ctx = _Context(request, service.store, vault, service.base_url(request), api_version, name, version)
    status, document = await handler(ctx)
    return _Reply(status, document, headers)


def _endpoint(collection: str):
    async def endpoint(request: Request) -> Response:
        headers = _headers(request)
        try:
            return await _handle(request, collection, headers)
        except KeyVaultError as exc:
            return _Reply(exc.status, exc.body(), headers)
        except ClientDisconnect:
            raise
        except Exception:  # a bug: log it (never a value: none reaches an exception message) and say 500
            log.exception("Unexpected error serving %s %s", request.method, request.scope.get("path"))
            error = KeyVaultError("The local vault hit an unexpected error; see its log.")
            return _Reply(500, error.body(), headers)

    endpoint.__name__ = f"keyvault_{collection}"
    return endpoint


def unknown_route(request: Request, status: int) -> Response:
    """Key Vault's answer for a path it has no operation for (404), or a method a path lacks (405)."""
    error = kverrors.not_found_path() if status == 404 else kverrors.method_not_allowed(request.method)
    return _Reply(error.status, error.body(), _headers(request))


_secrets = _endpoint("secrets")
_deleted = _endpoint("deletedsecrets")

# Every method reaches the dispatcher, so that wrong ones get Key Vault's error shape, not Starlette's.
_METHODS = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS"]
routes = [
    Route("/secrets", _secrets, methods=_METHODS),
    Route("/secrets/{rest:path}", _secrets, methods=_METHODS),
    Route("/deletedsecrets", _deleted, methods=_METHODS),
    Route("/deletedsecrets/{rest:path}", _deleted, methods=_METHODS),
]
