"""What every Graph route shares: authentication, Graph's error shape, times, paging and `$filter`.

Errors use Graph's wire form ``{"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}}``; 401s carry Graph's ``WWW-Authenticate`` challenge. Collections page with
``$top`` and an absolute ``@odata.nextLink`` holding an opaque ``$skiptoken``.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import wraps
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..identity.issuer import Caller, InvalidToken
from ..server import bodies
from ..state.directory import Directory

PREFIX = "/v1.0"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
DEFAULT_PAGE = 100
MAX_PAGE = 999
_CONTENT_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"


class GraphError(Exception):
    """A request Graph refuses: status, Graph error code and message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def not_found(what: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{what}' does not exist or one of its queried reference-property objects are not present.",
    )


def denied(message: str = "Insufficient privileges to complete the operation.") -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", message)


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


_JSON_TYPES = {str: "a string", bool: "true or false", int: "an integer", dict: "an object", list: "an array"}


def field(body: dict, name: str, kind: type, *, required: bool = False, default=None):
    """``body[name]`` when it is JSON of *kind* (absent or null: *default*); 400 BadRequest otherwise.

    Every property a route reads goes through here first, so no handler meets a value of a type it
    does not expect (a list where a string belongs, a bool where an integer does).
    """
    value = body.get(name) if isinstance(body, dict) else None
    if value is None:
        if required:
            raise bad_request(f"The property '{name}' is required.")
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        # unverified wording: Graph's own messages name the OData type it expected
        raise bad_request(f"Invalid value for the property '{name}': it must be {_JSON_TYPES[kind]}.")
    return value


# -- times ----------------------------------------------------------------------------------------------
LATEST = 253402300799  # 9999-12-31T23:59:59Z, the last instant a DateTimeOffset holds


def iso(timestamp: int | None) -> str | None:
    """Graph's DateTimeOffset: ISO 8601 in UTC with a Z (None for a stored time no calendar can show)."""
    if timestamp is None or not 0 <= timestamp <= LATEST:
        return None
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str, name: str) -> int:
    if not isinstance(text, str):
        raise bad_request(f"Invalid value for '{name}': give an ISO 8601 date or time as a string.")
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        seconds = int(value.timestamp())
    except (ValueError, OverflowError):
        raise bad_request(f"Invalid value for '{name}': give an ISO 8601 date or time.") from None
    if not 0 <= seconds <= LATEST:
        raise bad_request(f"Invalid value for '{name}': give a date between 1970 and 9999.")
    return seconds


# -- the request context ------------------------------------------------------------------------------------
@dataclass
class GraphContext:
    request: Request
    caller: Caller

    @property
    def service(self):
        return self.request.app.state.service

    @property
    def store(self):
        return self.service.store

    @property
    def directory(self) -> Directory:
        return Directory(self.store)

    @property
    def root(self) -> str:
        """https://host:port/v1.0 as the client called it: nextLinks and contexts start with it."""
        return self.service.base_url(self.request) + PREFIX

    @property
    def is_user(self) -> bool:
        return self.caller.claims.get("idtyp") == "user" or bool(self.caller.upn)

    def param(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    async def body(self) -> dict:
        try:
            return await bodies.json_object(self.request)
        except bodies.BodyTooLarge as exc:  # unverified: Graph's code for an oversized body
            raise GraphError(413, "RequestEntityTooLarge", str(exc)) from None
        except bodies.BodyError as exc:
            raise bad_request(str(exc)) from None


def error_response(request: Request, status: int, code: str, message: str, headers: dict | None = None):
    request_id = str(uuid.uuid4())
    client_request_id = request.headers.get("client-request-id") or request_id
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }
    merged = {"request-id": request_id, "client-request-id": client_request_id, **(headers or {})}
    return JSONResponse(body, status_code=status, headers=merged, media_type=_CONTENT_TYPE)


_CHALLENGE = (
    f'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    f'client_id="{GRAPH_APP_ID}"'
)


def _token_message(exc: InvalidToken) -> str:
    reason = str(exc)
    if reason == "missing":
        return "Access token is empty."
    if "expired" in reason.lower():
        return "Lifetime validation failed, the token is expired."
    if "audience" in reason.lower():
        return "Access token validation failure. Invalid audience."
    return "Access token validation failure."


def graph_route(handler: Callable) -> Callable:
    """Wrap `handler(ctx)`: authenticate for Graph, turn GraphError into Graph's error response."""

    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        service = request.app.state.service
        try:
            caller = service.authenticate(request, "graph")
        except InvalidToken as exc:
            return error_response(
                request, 401, "InvalidAuthenticationToken", _token_message(exc), {"WWW-Authenticate": _CHALLENGE}
            )
        try:
            result = await handler(GraphContext(request, caller))
        except GraphError as exc:
            return error_response(request, exc.status, exc.code, exc.message)
        if isinstance(result, Response):
            return result
        return ok(request, result)

    return endpoint


def ok(request: Request, document: Any, status: int = 200) -> Response:
    client_request_id = request.headers.get("client-request-id") or str(uuid.uuid4())
    headers = {"request-id": str(uuid.uuid4()), "client-request-id": client_request_id}
    if document is None:
        return Response(status_code=204, headers=headers)
    return JSONResponse(document, status_code=status, headers=headers, media_type=_CONTENT_TYPE)


# -- paging -------------------------------------------------------------------------------------------------
def _skip(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))["o"]
    except (ValueError, KeyError, TypeError):
        raise bad_request("The $skiptoken is not valid.", "Request_BadRequest") from None
    if not isinstance(offset, int) or offset < 0:
        raise bad_request("The $skiptoken is not valid.", "Request_BadRequest")
    return offset


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def page_size(ctx: GraphContext, default: int = DEFAULT_PAGE) -> int:
    raw = ctx.param("$top")
    if raw is None:
        return default
    try:
        top = int(raw)
    except ValueError:
        raise bad_request(f"Invalid value '{raw}' for $top.", "Request_BadRequest") from None
    if not 1 <= top <= MAX_PAGE:
        raise bad_request(
            f"Invalid page size specified: '{top}'. Must be between 1 and {MAX_PAGE} inclusive.", "Request_BadRequest"
        )
    return top


def collection(ctx: GraphContext, items: list, context: str, *, default_page: int = DEFAULT_PAGE) -> dict:
    """One page of *items* with `@odata.context` and, when more follow, an absolute `@odata.nextLink`."""
    top = page_size(ctx, default_page)
    start = _skip(ctx.param("$skiptoken"))
    chunk = items[start : start + top]
    document: dict = {"@odata.context": f"{ctx.root}/$metadata#{context}"}
    if start + top < len(items):
        params = [(k, v) for k, v in ctx.request.query_params.multi_items() if k != "$skiptoken"]
        params.append(("$skiptoken", _token(start + top)))
        query = urlencode(params, quote_via=quote, safe="$'(),:/")
        document["@odata.nextLink"] = f"{ctx.service.base_url(ctx.request)}{ctx.request.url.path}?{query}"
    document["value"] = chunk
    return document


def select(ctx: GraphContext, item: dict) -> dict:
    """Apply `$select` (the id and the odata type always stay)."""
    raw = ctx.param("$select")
    if not raw:
        return item
    wanted = {name.strip().lower() for name in raw.split(",") if name.strip()}
    return {k: v for k, v in item.items() if k.lower() in wanted or k in ("id", "@odata.type")}


# -- $filter --------------------------------------------------------------------------------------------------
# The subset kvnb and the Azure CLI send: `field eq 'x'` (also true/false/null), `startswith(field,'x')`
# and `collection/any(c:c eq 'x')`, joined by `and`.
_CLAUSE = re.compile(
    r"\s*(?:"
    r"(?P<field>[A-Za-z][\w/]*)\s+eq\s+(?P<value>'(?:[^']|'')*'|true|false|null|[0-9a-fA-F-]{36})"
    r"|startswith\(\s*(?P<sfield>[A-Za-z][\w/]*)\s*,\s*(?P<svalue>'(?:[^']|'')*')\s*\)"
    r"|(?P<afield>[A-Za-z][\w/]*)/any\(\s*(?P<var>\w+)\s*:\s*(?P=var)\s+eq\s+(?P<avalue>'(?:[^']|'')*')\s*\)"
    r")\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Clause:
    op: str  # eq | startswith | any
    field: str
    value: Any


def _literal(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    return text


def parse_filter(text: str | None) -> list[Clause]:
    if not text:
        return []
    clauses: list[Clause] = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _CLAUSE.fullmatch(part)
        if not match:
            raise bad_request("Unsupported Query.", "Request_UnsupportedQuery")
        if match["field"]:
            clauses.append(Clause("eq", match["field"], _literal(match["value"])))
        elif match["sfield"]:
            clauses.append(Clause("startswith", match["sfield"], _literal(match["svalue"])))
        else:
            clauses.append(Clause("any", match["afield"], _literal(match["avalue"])))
    return clauses


def _matches(value: Any, clause: Clause) -> bool:
    if clause.op == "any":
        return isinstance(value, list) and any(_same(v, clause.value) for v in value)
    if clause.op == "startswith":
        return isinstance(value, str) and value.lower().startswith(str(clause.value).lower())
    return _same(value, clause.value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return a == b


def apply_filter(items: Iterable[dict], clauses: list[Clause], fields: dict[str, Callable[[dict], Any]]) -> list[dict]:
    """Keep items matching every clause; *fields* maps a filterable property (lower case) to a getter."""
    getters = []
    for clause in clauses:
        getter = fields.get(clause.field.lower())
        if getter is None:
            raise bad_request("Unsupported Query.", "Request_UnsupportedQuery")
        getters.append((getter, clause))
    return [item for item in items if all(_matches(getter(item), clause) for getter, clause in getters)]


def function_argument(segment: str, name: str) -> str | None:
    """`filterByCurrentUser(on='approver')` -> 'approver' (None when the segment is not that function)."""
    match = re.fullmatch(rf"{name}\(on='(\w+)'\)", segment)
    return match[1] if match else None
