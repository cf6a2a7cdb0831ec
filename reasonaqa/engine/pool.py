"""The worker pool: items through an ``ItemProcessor`` with bounded concurrency.

Used by the local engine (over the whole manifest) and by each Ray task (over one unit),
so both mean the same by their width.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

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

    tasks = [asyncio.create_task(produce()), *(asyncio.create_task(work()) for _ in range(width))]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()  # the first failure (a full disk, say) ends the pool
    finally:
        # No worker outlives the pool: none writes to a closed journal, and no exception is
        # left for the loop's shutdown to print as a traceback.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
