"""The worker pool: items through an ``ItemProcessor`` with bounded concurrency.

Used by the local engine (over the whole manifest) and by each Ray task (over one unit),
so both mean the same by their width.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from reasonaqa.config import GenerateConfig
from reasonaqa.engine.item import ItemProcessor
from reasonaqa.engine.records import FinishedRecord
from reasonaqa.engine.work import WorkItem


def pool_width(config: GenerateConfig) -> int:
    """Items in flight: the embedded model answers one at a time; other backends get twice
    their request limit, so the limit stays busy while some items wait out a retry."""
    return 1 if config.backend == "embedded" else config.in_flight * 2


async def process_items(
    batches: Iterable[list[WorkItem]],
    processor: ItemProcessor,
    width: int,
    on_finished: Callable[[FinishedRecord], None],
) -> None:
    """Process every item of ``batches``, ``width`` at a time, calling ``on_finished`` for each.

    Items are pulled lazily through a short queue, so a huge manifest is never all in memory.
    """
    queue: asyncio.Queue[WorkItem | None] = asyncio.Queue(maxsize=width * 2)

    async def produce() -> None:
        for batch in batches:
            for item in batch:
                await queue.put(item)
        for _ in range(width):
            await queue.put(None)

    async def work() -> None:
        while (item := await queue.get()) is not None:
            on_finished(await processor.process(item))

    await _all_or_none(produce(), *(work() for _ in range(width)))


async def _all_or_none(*coroutines: Coroutine[Any, Any, None]) -> None:
    """Run all; on the first failure cancel the rest, wait for them, and raise that failure.

    Plain ``gather`` would leave the other workers running after it raised: still asking the
    backend while the run stops and the backend closes.
    """
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
