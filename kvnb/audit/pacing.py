"""Pace requests to stay inside Key Vault's throttle instead of discovering it through 429s.

Key Vault counts requests per vault in a sliding 10-second window (4,000 "all other transactions").
A plain token bucket of 4,000 would let a full burst through and then keep refilling, which
overruns a *sliding* window; so the bucket's burst plus what it refills in one window must stay
below the limit: ``burst + rate * window <= limit``. The pacer is a GCRA (virtual scheduling):
each caller reserves the next free slot and sleeps once, so hundreds of waiting coroutines cost
no polling.

When a 429 arrives anyway (another client shares the vault, or the subscription-wide limit), every
caller pauses: 1, 2, 4, 8, 16 s as Microsoft recommends, or the ``Retry-After`` the service sent;
and the pace halves for the rest of the run. The SDK's own retry policy repeats the refused request.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from azure.core.pipeline.transport import AsyncHttpTransport

KEY_VAULT_LIMIT = 4000  # requests per window per vault
KEY_VAULT_WINDOW = 10.0  # seconds
_BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0)
MIN_RATE = 5.0  # requests per second the pace never drops below


@dataclass
class PacerStats:
    granted: int = 0
    throttled: int = 0
    waited_seconds: float = 0.0


class RequestPacer:
    """At most *burst* requests at once, then *rate* per second; a shared pause after a 429.

    Waiting requests are released in order, priority ones first: the secret listing follows a
    chain of ``nextLink`` pages, so each of its pages is on the critical path, while the version
    counts can take whatever slots remain.
    """

    def __init__(self, rate: float, burst: int):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1.")
        self.rate = rate
        self.burst = burst
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self._tat: float | None = None  # theoretical arrival time of the next request (GCRA)
        self._paused_until = 0.0
        self._pause_began = float("-inf")
        self._streak = 0
        self._waiting: tuple[deque, deque] = (deque(), deque())  # (priority, normal) futures
        self._timer: asyncio.TimerHandle | None = None
        self.stats = PacerStats()

    @classmethod
    def for_limit(
        cls,
        limit: int = KEY_VAULT_LIMIT,
        window: float = KEY_VAULT_WINDOW,
        *,
        share: float = 0.95,
        rate_share: float = 0.9,
    ) -> RequestPacer:
        """A pacer that never sends more than ``share * limit`` in any *window* seconds."""
        rate = rate_share * limit / window
        burst = max(1, int(share * limit - rate * window))
        return cls(rate, burst)

    def max_in_window(self, window: float) -> float:
        """The most requests this pacer lets through in any *window* seconds."""
        return self.burst + self.rate * window

    async def acquire(self, *, priority: bool = False) -> None:
        """Wait for this request's slot."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting[0 if priority else 1].append((future, loop.time()))
        self._release()
        await future

    def _next_waiter(self):
        for queue in self._waiting:
            while queue:
                future, since = queue.popleft()
                if not future.done():
                    return future, since
        return None

    def _release(self) -> None:
        loop = asyncio.get_running_loop()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = loop.time()
        if self._tat is None:
            self._tat = now
        while any(self._waiting):
            start = max(self._paused_until, self._tat - self._tolerance)
            if start > now:
                self._timer = loop.call_at(start, self._release)
                return
            waiter = self._next_waiter()
            if waiter is None:
                return
            future, since = waiter
            self._tat = max(self._tat, now) + self._interval
            self.stats.granted += 1
            self.stats.waited_seconds += now - since
            future.set_result(None)

    def throttled(self, retry_after: float | None = None, *, sent_at: float | None = None) -> float:
        """Record a 429: pause everyone, for Retry-After or the next backoff step. Returns the pause.

        A 429 for a request sent before the current pause began belongs to the same episode (the
        requests that were already in flight): it is counted but neither lengthens nor repeats it.
        """
        now = asyncio.get_running_loop().time()
        self.stats.throttled += 1
        if sent_at is not None and sent_at < self._pause_began:
            return max(0.0, self._paused_until - now)
        pause = retry_after if retry_after is not None else _BACKOFF[min(self._streak, len(_BACKOFF) - 1)]
        self._streak += 1
        self._pause_began = now
        # Someone else shares the vault's budget, or our pace was wrong: halve it and drop the burst.
        self.rate = max(MIN_RATE, self.rate / 2)
        self.burst = 1
        self._interval, self._tolerance = 1.0 / self.rate, 0.0
        self._paused_until = max(self._paused_until, now + pause)
        self._tat = self._paused_until
        self._release()
        return pause

    def succeeded(self) -> None:
        self._streak = 0


def _retry_after(response) -> float | None:
    headers = response.headers
    for name, scale in (("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                return None  # an HTTP-date: fall back to the backoff steps
    return None


class PacedTransport(AsyncHttpTransport):
    """An async transport that asks the pacer before every request it sends, retries included.

    It also remembers the service's ``Date`` header, so expiry is judged by the service's clock.
    """

    def __init__(self, inner: AsyncHttpTransport, pacer: RequestPacer, *, priority=None):
        self._inner = inner
        self.pacer = pacer
        self._priority = priority or (lambda request: False)
        self._date: tuple[datetime, float] | None = None

    def service_time(self) -> datetime | None:
        if self._date is None:
            return None
        date, received = self._date
        return date + timedelta(seconds=time.monotonic() - received)

    async def send(self, request, **kwargs):
        await self.pacer.acquire(priority=self._priority(request))
        sent_at = asyncio.get_running_loop().time()
        response = await self._inner.send(request, **kwargs)
        header = response.headers.get("Date")
        if header:
            try:
                self._date = (parsedate_to_datetime(header).astimezone(timezone.utc), time.monotonic())
            except (TypeError, ValueError):
                pass
        if response.status_code == 429:
            self.pacer.throttled(_retry_after(response), sent_at=sent_at)
        else:
            self.pacer.succeeded()
        return response

    async def open(self):
        await self._inner.open()

    async def close(self):
        await self._inner.close()

    async def __aenter__(self):
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *args):
        await self._inner.__aexit__(*args)
