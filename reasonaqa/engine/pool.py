"""The worker pool: work groups through an ``ItemProcessor`` with bounded concurrency.

Used by the local engine (over the whole manifest) and by each Ray task (over one unit),
so both mean the same by their width.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from reasonaqa.config import LLMSettings
from reasonaqa.engine.item import ItemProcessor
from reasonaqa.engine.records import FinishedRecord
from reasonaqa.engine.work import WorkGroup


def pool_width(config: LLMSettings) -> int:
    """Groups in flight: the embedded model answers one at a time; other backends get twice
    their request limit, so the limit stays busy while some groups wait out a retry."""
    return 1 if config.backend == "embedded" else config.in_flight * 2


async def process_groups(
    batches: Iterable[list[WorkGroup]],
    processor: ItemProcessor,
    width: int,
    on_finished: Callable[[FinishedRecord], None],
) -> None:
    """Process every group of ``batches``, ``width`` at a time, calling ``on_finished`` for
    each record (the records of one group one after another).

    Groups are pulled lazily through a short queue, so a huge manifest is never all in memory.
    """
    queue: asyncio.Queue[WorkGroup | None] = asyncio.Queue(maxsize=width * 2)

    async def produce() -> None:
        for batch in batches:
            for group in batch:
                await queue.put(group)
        for _ in range(width):
            await queue.put(None)

    async def work() -> None:
        while (group := await queue.get()) is not None:
            for record in await processor.process(group):
                on_finished(record)

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
