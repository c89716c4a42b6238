"""Assemble the local vault's ASGI app from each surface's list of routes."""

from __future__ import annotations

from email.utils import formatdate

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..arm import common as arm_common
from ..arm.routes import routes as arm_routes
from ..graph import routes as graph
from ..graph.routes import routes as graph_routes
from ..identity.endpoint import routes as token_routes
from ..keyvault import routes as keyvault
from ..keyvault.routes import routes as keyvault_routes
from .admin import routes as admin_routes
from .demo import routes as demo_routes
from .faults import FaultsMiddleware
from .service import LocalVaultService

ROUTES = [*token_routes, *admin_routes, *demo_routes, *keyvault_routes, *arm_routes, *graph_routes]


_GRAPH_PREFIXES = ("/v1.0", "/beta")
_ARM_PREFIXES = ("/subscriptions", "/providers", "/tenants", "/metadata", "//")


async def unknown_route(request: Request, exc: HTTPException) -> Response:
    """No route (404) or no such method on a route (405): the error shape of the surface the path falls
    under, so that an Azure SDK raises HttpResponseError with its ``error`` read (Key Vault's by default:
    every port is a vault URL)."""
    path = request.url.path
    if any(path == p or path.startswith(p + "/") for p in _GRAPH_PREFIXES):
        response = graph.unknown_route(request, exc.status_code)
    elif path.startswith(_ARM_PREFIXES) or "/providers/" in path.lower():
        response = arm_common.unknown_route(request, exc.status_code)
    else:
        response = keyvault.unknown_route(request, exc.status_code)
    if exc.status_code == 405 and exc.headers:
        response.headers.update(exc.headers)  # Allow
    return response


class VaultClockDate:
    """Send the vault clock as the HTTP ``Date`` header (uvicorn's own is turned off).

    Clients that judge time-dependent state (review due dates) by the service's time then agree
    with the vault after `kvnb local clock --advance`, as they agree with Azure's clock on Azure.
    """

    def __init__(self, app, service: LocalVaultService):
        self.app = app
        self.service = service

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_date(message):
            if message["type"] == "http.response.start":
                date = formatdate(self.service.store.now(), usegmt=True).encode()
                message["headers"] = [*message.get("headers", []), (b"date", date)]
            await send(message)

        await self.app(scope, receive, send_with_date)


def create_app(service: LocalVaultService) -> VaultClockDate:
    app = Starlette(routes=ROUTES, exception_handlers={404: unknown_route, 405: unknown_route})
    app.state.service = service
    return VaultClockDate(FaultsMiddleware(app, service), service)
