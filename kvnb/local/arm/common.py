"""What every ARM route of the local vault shares: the error shape, authentication, scopes, times.

Errors follow ARM's ``ErrorResponse`` (``{"error": {"code", "message"}}``); a 401 carries ARM's
challenge. Bad input is always a 4xx with a message that says what to fix: never a 500.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..identity.issuer import Caller, InvalidToken
from ..server import bodies

log = logging.getLogger("kvnb.local.arm")
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ARM_AUDIENCES = (
    "'https://management.core.windows.net/','https://management.core.windows.net',"
    "'https://management.azure.com/','https://management.azure.com'"
)


class ArmError(Exception):
    """An ARM error answer: raise it anywhere below a route, `guarded` turns it into the response."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": {"code": self.code, "message": self.message}}, status_code=self.status, headers=self.headers
        )


def listing(items, render) -> JSONResponse:
    """ARM's ``{"value": [...]}`` of ``render(item)`` for each stored item. An item that cannot be
    rendered (a row an older vault wrote, or one edited by hand) is left out with a warning in the
    log: one row never breaks a listing for everyone."""
    value = []
    for item in items:
        try:
            value.append(render(item))
        except (ValueError, TypeError, KeyError, OverflowError, AttributeError) as exc:
            log.warning("A listing left out a stored item it cannot show (%s).", exc.__class__.__name__)
    return JSONResponse({"value": value})


def is_guid(text: str) -> bool:
    return bool(_GUID.match(text or ""))


def guarded(handler):
    """Wrap a route: ArmError → its response; unreadable input never escapes as a 500."""

    async def route(request: Request) -> Response:
        try:
            return await handler(request)
        except ArmError as exc:
            return exc.response()

    route.__name__ = handler.__name__
    return route


_PROVIDER_TYPE = re.compile(r"/providers/([^/]+)/([^/]+)", re.IGNORECASE)


def unknown_route(request: Request, status: int) -> Response:
    """ARM's answer for a path the local ARM does not serve (404) or a method a path lacks (405)."""
    if status == 405:  # the message as a public capture shows it (Azure/azure-rest-api-specs#8320)
        return ArmError(
            405, "MethodNotAllowed", f"The requested resource does not support http method '{request.method}'."
        ).response()
    found = _PROVIDER_TYPE.findall(request.url.path)
    if found:  # ARM's wording for a type a provider does not have, as public captures show it
        namespace, kind = found[-1]
        version = request.query_params.get("api-version", "")
        return ArmError(
            404,
            "InvalidResourceType",
            f"The resource type '{kind}' could not be found in the "
            f"namespace '{namespace}' for api version '{version}'.",
        ).response()
    # unverified wording
    return ArmError(
        404, "NotFound", f"The local vault's ARM serves no resource at '{request.url.path[:200]}'."
    ).response()


# -- request checks ---------------------------------------------------------------------------------
def require_api_version(request: Request) -> str:
    version = request.query_params.get("api-version", "")
    if not version:
        raise ArmError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    if not _API_VERSION.match(version):
        raise ArmError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions are in the form "
            "'yyyy-mm-dd' or 'yyyy-mm-dd-preview'.",
        )
    return version


def authenticate(request: Request) -> Caller:
    """The verified caller, or ArmError 401 with ARM's challenge and body."""
    service = request.app.state.service
    header = request.headers.get("authorization", "")
    # ARM's own wording [unverified: assembled from public error captures, not a recorded exchange].
    if not header.strip():
        _unauthenticated(
            service,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            "The authentication failed because of missing 'Authorization' header.",
        )
    try:
        return service.authenticate(request, "arm")
    except InvalidToken as exc:
        reason = str(exc).lower()
        if "expired" in reason:
            _unauthenticated(
                service,
                "ExpiredAuthenticationToken",
                "The access token has expired.",
                "The access token expiry UTC time is earlier than current UTC time.",
            )
        if "audience" in reason:
            audience = _unverified_claim(header, "aud")
            _unauthenticated(
                service,
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource '{audience}'. "
                f"It should exactly match with one of the allowed audiences {_ARM_AUDIENCES}.",
                "The access token has been obtained for wrong audience or resource.",
            )
        if reason == "missing":
            _unauthenticated(
                service,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                "The authentication failed because of an invalid 'Authorization' header.",
            )
        _unauthenticated(
            service, "InvalidAuthenticationToken", "The access token is invalid.", "The access token is invalid."
        )


def _unverified_claim(header: str, claim: str) -> str:
    try:
        return str(jwt.decode(header.partition(" ")[2].strip(), options={"verify_signature": False}).get(claim, ""))
    except jwt.PyJWTError:
        return ""


def _unauthenticated(service, code: str, message: str, description: str):
    challenge = (
        f'Bearer authorization_uri="https://login.windows.net/{service.store.tenant_id}", '
        f'error="invalid_token", error_description="{description}"'
    )
    raise ArmError(401, code, message, {"WWW-Authenticate": challenge})


async def json_body(request: Request) -> dict:
    """The body as a JSON object (an empty body is ``{}``), read within `bodies`' bounds."""
    try:
        return await bodies.json_object(request, empty={})
    except bodies.BodyTooLarge as exc:  # unverified: ARM's code for a body over its 4 MB limit
        raise ArmError(413, "RequestEntityTooLarge", str(exc)) from None
    except bodies.BodyError as exc:
        raise ArmError(
            400, "InvalidRequestContent", f"The request content was invalid and could not be deserialized: {exc}"
        ) from None


def properties_of(body: dict) -> dict:
    props = body.get("properties")
    if not isinstance(props, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content must have a 'properties' object.")
    return props


def text_property(props: dict, name: str, *, required: bool = False) -> str | None:
    value = props.get(name)
    if value is None or value == "":
        if required:
            raise ArmError(400, "InvalidRequestContent", f"The property '{name}' is required.")
        return None
    if not isinstance(value, str):
        raise ArmError(400, "InvalidRequestContent", f"The property '{name}' must be a string.")
    return value


# -- the caller's permission ----------------------------------------------------------------------
def caller_name(caller: Caller) -> str:
    return caller.upn or caller.oid


def require_permission(request: Request, caller: Caller, action: str, scope: str, context: dict | None = None) -> None:
    """403 AuthorizationFailed in ARM's words unless an active assignment grants *action* on *scope*."""
    decision = request.app.state.service.authorizer.check(caller.oid, action, scope, data_action=False, context=context)
    if not decision.allowed:
        raise ArmError(
            403,
            "AuthorizationFailed",
            f"The client '{caller_name(caller)}' with object id '{caller.oid}' does not have authorization "
            f"to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was "
            "recently granted, please refresh your credentials.",
        )


# -- scopes -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scope:
    """A scope the local ARM knows: the root, the subscription, a resource group, a vault or one secret."""

    path: str  # normalised: one leading slash, no trailing slash, the client's casing
    kind: str  # root | subscription | resourceGroup | vault | secret
    resource_group: str | None = None
    vault: str | None = None  # the vault's name as stored
    secret: str | None = None


def parse_scope(request: Request, raw: str) -> Scope:
    """Resolve *raw* against the local subscription, its resource groups and vaults; 4xx otherwise."""
    service = request.app.state.service
    path = "/" + raw.strip().strip("/")
    if path == "/":
        return Scope("/", "root")
    parts = path.strip("/").split("/")
    subscription = service.store.subscription_id
    if len(parts) < 2 or parts[0].lower() != "subscriptions":
        raise ArmError(
            400,
            "InvalidScope",
            f"The scope '{path}' is not valid. Give a subscription, a resource group, "
            "a key vault or a secret of a key vault.",
        )
    if parts[1].lower() != subscription.lower():
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{parts[1]}' could not be found.")
    if len(parts) == 2:
        return Scope(path, "subscription")
    if parts[2].lower() != "resourcegroups" or len(parts) < 4:
        raise ArmError(400, "InvalidScope", f"The scope '{path}' is not valid: expected /resourceGroups/NAME next.")
    group_row = service.store.db.execute(
        "SELECT resource_group FROM vaults WHERE resource_group = ? COLLATE NOCASE LIMIT 1", (parts[3],)
    ).fetchone()
    if group_row is None:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{parts[3]}' could not be found.")
    if len(parts) == 4:
        return Scope(path, "resourceGroup", resource_group=group_row[0])
    if (
        len(parts) < 7
        or parts[4].lower() != "providers"
        or parts[5].lower() != "microsoft.keyvault"
        or parts[6].lower() != "vaults"
        or len(parts) not in (8, 10)
    ):
        raise ArmError(
            404,
            "ResourceNotFound",
            f"The resource '{path}' was not found: the local vault serves only "
            "Microsoft.KeyVault/vaults and their secrets.",
        )
    vault = vault_in_group(service, parts[7], group_row[0])
    if len(parts) == 8:
        return Scope(path, "vault", resource_group=group_row[0], vault=vault["name"])
    if parts[8].lower() != "secrets" or not re.fullmatch(r"[0-9A-Za-z-]{1,127}", parts[9]):
        raise ArmError(
            400,
            "InvalidScope",
            f"The scope '{path}' is not valid: below a vault only "
            "/secrets/NAME (letters, digits and dashes) is a scope.",
        )
    return Scope(path, "secret", resource_group=group_row[0], vault=vault["name"], secret=parts[9])


def vault_in_group(service, name: str, resource_group: str) -> sqlite3.Row:
    row = service.store.db.execute(
        "SELECT * FROM vaults WHERE name = ? COLLATE NOCASE AND resource_group = ? COLLATE NOCASE",
        (name, resource_group),
    ).fetchone()
    if row is None:
        raise ArmError(
            404,
            "ResourceNotFound",
            f"The Resource 'Microsoft.KeyVault/vaults/{name}' under resource "
            f"group '{resource_group}' was not found. For more details please go to "
            "https://aka.ms/ARMResourceNotFoundFix",
        )
    return row


def scope_key(scope: str) -> str:
    return "/" + scope.strip().strip("/").lower()


def is_at_or_above(candidate: str, scope: str) -> bool:
    """Whether an object at *candidate* applies at *scope* (it is the scope or an ancestor)."""
    c, s = scope_key(candidate), scope_key(scope)
    return c == "/" or c == s or s.startswith(c + "/")


def is_related(candidate: str, scope: str) -> bool:
    """At, above or below: what an unfiltered list at *scope* returns."""
    return is_at_or_above(candidate, scope) or is_at_or_above(scope, candidate)


# -- $filter ----------------------------------------------------------------------------------------
_FILTER_TERM = re.compile(
    r"^\s*(?:(?P<atscope>atScope\(\))|principalId\s+eq\s+'(?P<principal>[^']+)'|"
    r"assignedTo\('(?P<assigned>[^']+)'\)|(?P<astarget>asTarget\(\))|(?P<asrequestor>asRequestor\(\))|"
    r"roleDefinitionId\s+eq\s+'(?P<role>[^']+)')\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ListFilter:
    at_scope: bool = False
    principal_id: str | None = None
    assigned_to: str | None = None
    as_target: bool = False
    as_requestor: bool = False
    role_definition_id: str | None = None


def parse_filter(request: Request, allowed: frozenset[str]) -> ListFilter:
    """Read ``$filter`` (terms joined by ``and``); *allowed* names the terms this list accepts."""
    text = request.query_params.get("$filter", "").strip()
    found: dict = {}
    if text:
        for term in re.split(r"\s+and\s+", text, flags=re.IGNORECASE):
            match = _FILTER_TERM.match(term)
            kind = next((k for k, v in (match.groupdict().items() if match else ()) if v), None)
            if kind is None or kind not in allowed:
                raise ArmError(
                    400,
                    "InvalidFilterInQueryString",
                    f"The filter '{text}' is not supported here. "
                    f"Supported: {', '.join(sorted(_FILTER_NAMES[k] for k in allowed))}.",
                )
            found[kind] = match[kind]
    return ListFilter(
        at_scope="atscope" in found,
        principal_id=_lower(found.get("principal")),
        assigned_to=_lower(found.get("assigned")),
        as_target="astarget" in found,
        as_requestor="asrequestor" in found,
        role_definition_id=found.get("role"),
    )


_FILTER_NAMES = {
    "atscope": "atScope()",
    "principal": "principalId eq '{id}'",
    "assigned": "assignedTo('{id}')",
    "astarget": "asTarget()",
    "asrequestor": "asRequestor()",
    "role": "roleDefinitionId eq '{id}'",
}


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


# -- times ------------------------------------------------------------------------------------------
# The instants ARM's schedules can name: from the Unix epoch to .NET's DateTime.MaxValue, to the second.
EARLIEST, LATEST = 0, 253402300799  # 1970-01-01T00:00:00Z, 9999-12-31T23:59:59Z


def iso(seconds: int | None) -> str | None:
    """ARM's date-time form; None for no time, and for a stored time no calendar can show (an older
    vault's row), so that one row never breaks a listing."""
    if seconds is None or not EARLIEST <= seconds <= LATEST:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def parse_iso(text: object, name: str) -> int:
    """An ISO 8601 date-time (``Z``, an offset, up to 7 fractional digits) as unix seconds; 400 otherwise."""
    if not isinstance(text, str):
        raise ArmError(400, "InvalidRequestContent", f"'{name}' must be an ISO 8601 date-time string.")
    match = re.fullmatch(
        r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?", text.strip(), re.IGNORECASE
    )
    if not match:
        raise ArmError(400, "InvalidRequestContent", f"'{name}' is not an ISO 8601 date-time: '{text[:40]}'.")
    zone = (match[3] or "Z").upper().replace("Z", "+00:00")
    try:
        seconds = int(datetime.fromisoformat(match[1] + zone).timestamp())
    except (ValueError, OverflowError):  # e.g. month 13, or an offset that leaves year 9999
        raise ArmError(400, "InvalidRequestContent", f"'{name}' is not a valid date-time: '{text[:40]}'.") from None
    if not EARLIEST <= seconds <= LATEST:
        raise ArmError(
            400,
            "InvalidScheduleInfo",
            f"'{name}' is out of range: give a date-time between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z.",
        )
    return seconds
