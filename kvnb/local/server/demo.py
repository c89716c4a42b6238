"""The demo application API: accepts only the current value of `APICaller` as its key.

Tutorials call it with a fetched secret to show that after a rotation an old copy gets 401 while
code that fetches at run time keeps working. The key travels in the ``X-API-Key`` header.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..seed.scenario import FIRST_VAULT

SECRET_NAME = "APICaller"


def _current_value(store) -> str | None:
    row = store.db.execute(
        "SELECT v.version, v.value FROM secret_versions v JOIN secrets s "
        "ON s.vault = v.vault AND s.name = v.name "
        "WHERE v.vault = ? AND v.name = ? AND s.deleted_date IS NULL "
        "ORDER BY v.seq DESC LIMIT 1",
        (FIRST_VAULT, SECRET_NAME),
    ).fetchone()
    if row is None:
        return None
    return store.unseal(row["value"], vault=FIRST_VAULT, name=SECRET_NAME, version=row["version"])


async def ping(request: Request) -> JSONResponse:
    presented = request.headers.get("x-api-key", "")
    current = _current_value(request.app.state.service.store)
    if not presented or current is None or not hmac.compare_digest(presented.encode(), current.encode()):
        return JSONResponse(
            {"error": "invalid_api_key", "message": "The X-API-Key header does not hold the current key."},
            status_code=401,
        )
    return JSONResponse({"status": "ok", "message": "pong"})


routes = [Route("/demo-api/ping", ping, methods=["GET"])]
