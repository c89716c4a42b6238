"""Assemble the local vault's ASGI app from each surface's list of routes."""

from __future__ import annotations

import importlib

from starlette.applications import Starlette

from .faults import FaultsMiddleware
from .service import LocalVaultService

# Each module exposes `routes`; surfaces built by later work join this list.
_SURFACES = ("tokens", "admin", "demo", "keyvault", "arm", "graphapi")


def _routes() -> list:
    routes = []
    for name in _SURFACES:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise
            continue
        routes.extend(module.routes)
    return routes


def create_app(service: LocalVaultService) -> FaultsMiddleware:
    app = Starlette(routes=_routes())
    app.state.service = service
    return FaultsMiddleware(app, service)
