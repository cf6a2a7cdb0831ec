"""Adaptive concurrency for HTTP backends: shrink on overload, grow back on success.

Additive increase, multiplicative decrease (as TCP does): a 429, 503 or timeout halves the
number of requests allowed in flight (at most once per cool-down, so one burst of errors is
one signal), each success adds ``1/limit``, so the limit grows by about one per round trip.
A ``Retry-After`` pauses every new request until that time.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
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
        self._waiters: deque[asyncio.Future[None]] = deque()

    def try_acquire(self) -> bool:
        """Take a slot if one is free now, without awaiting: the common case on the hot path."""
        if self.in_flight < int(self.limit) and not self._waiters:
            if self._paused_until and self._paused_until > time.monotonic():
                return False
            self.in_flight += 1
            return True
        return False

    async def acquire(self) -> None:
        # One event loop, no threads: checking and taking a slot cannot interleave, so the
        # common case needs no lock at all.
        while True:
            if self.try_acquire():
                return
            pause = self._paused_until - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            else:
                if self.in_flight < int(self.limit):
                    # A slot is free: the pause ended between try_acquire and here, or the
                    # limit grew. Nobody may park then, or with nothing in flight no release
                    # would ever wake them: take the slot, or let the head of the queue take it.
                    if not self._waiters:
                        continue
                    self._wake()
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                try:
                    await waiter
                except BaseException:
                    if waiter.done() and not waiter.cancelled():
                        self._wake()  # given the turn while being cancelled: pass it on
                    elif waiter in self._waiters:
                        self._waiters.remove(waiter)
                    raise
                if self.in_flight < int(self.limit):
                    self.in_flight += 1
                    if self.in_flight < int(self.limit):
                        self._wake()  # the limit grew: there is room for the next one too
                    return

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

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
        self.release()
