"""Adaptive concurrency for HTTP backends: shrink on overload, grow back on success.

Additive increase, multiplicative decrease (as TCP does): a 429, 503 or timeout halves the
number of requests allowed in flight (at most once per cool-down, so one burst of errors is
one signal), each success adds ``1/limit``, so the limit grows by about one per round trip.
A ``Retry-After`` pauses every new request until that time.
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType


class AdaptiveLimiter:
    def __init__(self, maximum: int, minimum: int = 1, cooldown_s: float = 1.0) -> None:
        self.maximum = maximum
        self.minimum = min(minimum, maximum)
        self.cooldown_s = cooldown_s
        self.limit = float(maximum)
        self.in_flight = 0
        self._paused_until = 0.0
        self._last_shrink = 0.0
        self._cond = asyncio.Condition()

    async def acquire(self) -> None:
        while True:
            pause = self._paused_until - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
                continue
            async with self._cond:
                if self.in_flight < int(self.limit):
                    self.in_flight += 1
                    return
                await self._cond.wait()

    async def release(self) -> None:
        async with self._cond:
            self.in_flight -= 1
            self._cond.notify()

    def on_success(self) -> None:
        if self.limit < self.maximum:
            self.limit = min(self.maximum, self.limit + 1.0 / self.limit)

    def on_overload(self, retry_after_s: float | None = None) -> None:
        now = time.monotonic()
        if retry_after_s:
            self._paused_until = max(self._paused_until, now + retry_after_s)
        if now - self._last_shrink >= self.cooldown_s:
            self.limit = max(float(self.minimum), self.limit / 2)
            self._last_shrink = now

    async def __aenter__(self) -> AdaptiveLimiter:
        await self.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.release()
