"""The event loop the engine runs on: uvloop when installed (it halves asyncio's overhead)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coroutine)


def new_loop() -> asyncio.AbstractEventLoop:
    factory = loop_factory()
    return factory() if factory else asyncio.new_event_loop()
