"""Injected latency and Key Vault's throttling, as ASGI middleware in front of every surface.

Throttling follows the service limits per vault and 10-second window: 4,000 transactions, of which
at most 300 secret creates. Like the real service, requests refused with 429 still count, and the
429 carries no ``Retry-After`` (so the SDK backs off exponentially).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import defaultdict, deque

_DATA_PLANE = re.compile(r"^/(secrets|deletedsecrets)(/|$)", re.IGNORECASE)
_CREATE = re.compile(r"^/secrets/[^/]+/?$", re.IGNORECASE)
_EXEMPT = ("/msi/token", "/_kvnb/")

THROTTLED_BODY = json.dumps(
    {
        "error": {
            "code": "Throttled",
            "message": "Request was not processed because too many requests were received. "
            "Reason: VaultRequestTypeLimitReached",
        }
    }
).encode()


class _Window:
    """Timestamps of recent requests; counts what falls inside the last WINDOW seconds."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def hit(self, now: float, window: float) -> int:
        self.times.append(now)
        while self.times and self.times[0] <= now - window:
            self.times.popleft()
        return len(self.times)


class FaultsMiddleware:
    def __init__(self, app, service):
        self.app = app
        self.service = service
        self._all: dict[int, _Window] = defaultdict(_Window)
        self._create: dict[int, _Window] = defaultdict(_Window)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(_EXEMPT):
            return await self.app(scope, receive, send)
        faults = self.service.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.throttle and _DATA_PLANE.match(scope["path"]) and self._over_limit(scope):
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json; charset=utf-8"),
                        (b"content-length", str(len(THROTTLED_BODY)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": THROTTLED_BODY})
            return
        await self.app(scope, receive, send)

    def _over_limit(self, scope) -> bool:
        port = scope.get("server", (None, 0))[1]
        now = time.monotonic()
        faults = self.service.faults
        window = faults.window_seconds
        over = self._all[port].hit(now, window) > faults.limit_all
        if scope["method"] == "PUT" and _CREATE.match(scope["path"]):
            over = self._create[port].hit(now, window) > faults.limit_create or over
        return over
