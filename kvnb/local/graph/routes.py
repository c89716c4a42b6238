"""The local vault's Microsoft Graph v1.0 subset, served under ``/v1.0`` on the first vault's port.

Directory reads (`directory`), access reviews (`reviews`) and entitlement management
(`packages`); shared plumbing in `common`, permission rules in `access`. Tokens
must be for Graph (``https://graph.microsoft.com`` or the local base URL, as the Azure CLI asks).
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from . import directory, packages, reviews
from .common import error_response

routes = [*directory.routes, *reviews.routes, *packages.routes]
_KNOWN_SEGMENTS = frozenset(
    part.lower() for route in routes for part in route.path.split("/") if part and not part.startswith("{")
)
_KEY = re.compile(r"^[0-9a-fA-F-]{36}$|@|\(")  # an object id, a user principal name, a function call


def unknown_route(request: Request, status: int) -> Response:
    """Graph's answer for a path it has no resource for: 400 BadRequest naming the first segment it
    could not resolve (the wording real Graph responses carry), or 405 for a method a path lacks."""
    if status == 405:  # unverified: Graph's code for a method a resource does not support
        return error_response(
            request, 405, "Request_BadRequest", f"The {request.method} method is not supported for this resource."
        )
    segments = [s for s in request.url.path.split("/")[2:] if s]
    unknown = next(
        (s for s in segments if s.lower() not in _KNOWN_SEGMENTS and not _KEY.search(s)),
        segments[-1] if segments else request.url.path.strip("/"),
    )
    return error_response(request, 400, "BadRequest", f"Resource not found for the segment '{unknown}'.")
