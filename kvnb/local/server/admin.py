"""Admin routes for the `kvnb local` commands and the client seam (`kvnb.local`).

Reset, clock, faults and more vaults steer the vault; runtime, directory and identity-header tell a
client what it needs (tenant, vault resource ids, principals, a persona's identity header) without
it opening the database. Only the machine's owner may call them: the admin token is in
``server.json`` in the state directory (0700, the file 0600), and every admin call must present it.
Health answers anyone, with nothing but "ok": not which port is which vault.
"""

from __future__ import annotations

import dataclasses
import hmac
import os

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..seed import scenario
from ..state.directory import GROUP, Directory
from . import bodies

ADMIN_HEADER = "x-kvnb-admin-token"
_LATEST = 253402300799  # 9999-12-31T23:59:59Z


def _authorized(request: Request) -> bool:
    token = request.headers.get(ADMIN_HEADER, "")
    return hmac.compare_digest(token.encode(), request.app.state.service.admin_token.encode())


def _refuse() -> JSONResponse:
    return JSONResponse({"error": "The admin token is missing or wrong."}, status_code=403)


async def _body(request: Request) -> dict:
    try:
        data = bodies.parse_json(await bodies.read_body(request), empty={})
    except bodies.BodyError:  # as the surfaces bound theirs; an unreadable body counts as none
        return {}
    return data if isinstance(data, dict) else {}


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def runtime(request: Request) -> JSONResponse:
    if not _authorized(request):
        return _refuse()
    service = request.app.state.service
    store = service.store
    return JSONResponse(
        {
            "pid": os.getpid(),
            "tenant_id": store.tenant_id,
            "subscription_id": store.subscription_id,
            "challenge_mode": service.challenge_mode,
            "vaults": [
                {"name": name, "port": port, "resource_id": service.resource_id(name)}
                for port, name in service.ports.items()
            ],
        }
    )


async def directory(request: Request) -> JSONResponse:
    """Every principal (identity headers left out) and who is directly in which group."""
    if not _authorized(request):
        return _refuse()
    entries = Directory(request.app.state.service.store)
    principals = [
        {k: v for k, v in dataclasses.asdict(p).items() if k != "identity_header"} for p in entries.list_principals()
    ]
    return JSONResponse({"principals": principals, "memberships": entries.membership_edges()})


async def identity_header(request: Request) -> JSONResponse:
    """The X-IDENTITY-HEADER a persona signs in with at the managed-identity endpoint."""
    if not _authorized(request):
        return _refuse()
    entries = Directory(request.app.state.service.store)
    handle = str((await _body(request)).get("persona", ""))
    principal = entries.principal_by_handle(handle)
    if principal is None:
        known = ", ".join(sorted(p.handle for p in entries.list_principals() if p.identity_header and p.handle))
        return JSONResponse({"error": f"No local identity {handle!r}. Known: {known}.", "code": "UnknownPersona"}, 404)
    if principal.kind == GROUP or principal.identity_header is None:
        return JSONResponse({"error": f"{handle!r} is a group; groups cannot sign in.", "code": "CannotSignIn"}, 400)
    return JSONResponse({"identity_header": principal.identity_header})


async def reset(request: Request) -> JSONResponse:
    if not _authorized(request):
        return _refuse()
    service = request.app.state.service
    body = await _body(request)
    await service.stop_extra_vaults()
    scenario.reset(service.store, empty=bool(body.get("empty")), first_port=service.first_port)
    return JSONResponse({"ok": True})


async def clock(request: Request) -> JSONResponse:
    if not _authorized(request):
        return _refuse()
    store = request.app.state.service.store
    body = await _body(request)
    if body.get("reset"):
        offset = 0
    else:
        try:
            offset = store.clock_offset() + int(body["advance_seconds"])
        except (KeyError, TypeError, ValueError):
            return JSONResponse({"error": "Give advance_seconds (an integer) or reset."}, 400)
        if not 0 <= store.now() - store.clock_offset() + offset <= _LATEST:  # every date must stay showable
            return JSONResponse({"error": "That moves the vault clock out of 1970-9999; advance it less."}, 400)
    store.set_meta("clock_offset", str(offset))
    return JSONResponse({"offset_seconds": offset, "now": store.now()})


async def faults(request: Request) -> JSONResponse:
    if not _authorized(request):
        return _refuse()
    current = request.app.state.service.faults
    body = await _body(request)
    if "latency_ms" in body:
        current.latency_ms = max(0, int(body["latency_ms"]))
    if "throttle" in body:
        current.throttle = bool(body["throttle"])
    return JSONResponse({"latency_ms": current.latency_ms, "throttle": current.throttle})


async def add_vault(request: Request) -> JSONResponse:
    if not _authorized(request):
        return _refuse()
    body = await _body(request)
    name = str(body.get("name", ""))
    if not scenario.valid_vault_name(name):
        return JSONResponse({"error": scenario.VAULT_NAME_RULE}, 400)
    port = await request.app.state.service.add_vault(name, int(body.get("port") or 0))
    return JSONResponse({"name": name, "port": port})


routes = [
    Route("/_kvnb/admin/health", health, methods=["GET"]),
    Route("/_kvnb/admin/runtime", runtime, methods=["GET"]),
    Route("/_kvnb/admin/directory", directory, methods=["GET"]),
    Route("/_kvnb/admin/identity-header", identity_header, methods=["POST"]),
    Route("/_kvnb/admin/reset", reset, methods=["POST"]),
    Route("/_kvnb/admin/clock", clock, methods=["POST"]),
    Route("/_kvnb/admin/faults", faults, methods=["POST"]),
    Route("/_kvnb/admin/vaults", add_vault, methods=["POST"]),
]
