"""The adaptive limiter never parks a request that nothing would ever wake."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from reasonaqa.backends import adaptive
from reasonaqa.backends.adaptive import AdaptiveLimiter


def test_a_pause_ending_between_two_clock_reads_does_not_park_forever(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # try_acquire reads the clock inside the pause, acquire reads it again just after: with
    # nothing in flight, a request parked then would wait for a release that never comes.
    clock = iter([10.0])  # the limiter's own clock: the event loop keeps the real one
    monkeypatch.setattr(adaptive, "time", SimpleNamespace(monotonic=lambda: next(clock, 10.2)))
    limiter = AdaptiveLimiter(4)
    limiter._paused_until = 10.1

    async def take() -> None:
        await asyncio.wait_for(limiter.acquire(), timeout=2)

    asyncio.run(take())
    assert limiter.in_flight == 1


def test_waiters_are_served_in_turn_as_slots_free() -> None:
    async def scenario() -> list[int]:
        limiter = AdaptiveLimiter(1)
        order: list[int] = []

        async def one(n: int) -> None:
            async with limiter:
                order.append(n)
                await asyncio.sleep(0)

        await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(5))), timeout=2)
        return order

    assert asyncio.run(scenario()) == [0, 1, 2, 3, 4]
