"""The event loop the engine runs on: uvloop when installed (it halves asyncio's overhead).

A stop signal (Ctrl-C, SIGTERM) cancels the run's task, so its cleanup runs, and then ends
the run with ``signals.Interrupted``.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from reasonaqa.engine.signals import Interrupted, cancelling

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


# Each request allocates a few hundred short-lived objects (dicts, coroutines, futures). At
# the default gen-0 threshold of 700 the collector runs every few requests and often walks
# the older generations; 20,000 makes it run every ~100 requests at the same total young-
# object work. A reference cycle of garbage waits a little longer: memory stays flat.
RUN_GC_THRESHOLDS = (20_000, 20, 20)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on the engine's loop with the collector tuned for it (see RUN_GC_THRESHOLDS)."""
    # Objects made before the run (modules, schemas, compiled templates) live to its end:
    # freezing them keeps every full collection from walking them again.
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(*RUN_GC_THRESHOLDS)
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            return runner.run(_until_signal(coroutine))
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


async def _until_signal(coroutine: Coroutine[Any, Any, T]) -> T:
    task = asyncio.current_task()
    assert task is not None  # we run inside Runner.run's task
    with cancelling(task) as caught:
        try:
            return await coroutine
        except asyncio.CancelledError:
            if caught:
                raise Interrupted(caught[0]) from None
            raise


def new_loop() -> asyncio.AbstractEventLoop:
    factory = loop_factory()
    return factory() if factory else asyncio.new_event_loop()
