"""``generate``: the whole local run, resumable by rerunning the same command.

Order of work: check every input before anything is written (templates, the endpoint); open
the journal and refuse a folder made with other settings (``RunSession``); stream the pending
work items through the worker pool; commit in chunks; finalize. A ``FatalBackendError`` (401,
403, 404 from the server) is not an item's failure: it stops the run, keeping what finished.
"""

from __future__ import annotations

import contextlib
import sys
import threading

from reasonaqa.backends.base import Backend
from reasonaqa.backends.registry import make_backend
from reasonaqa.config import GenerateConfig
from reasonaqa.engine import loop as event_loop
from reasonaqa.engine.item import ItemProcessor
from reasonaqa.engine.llm import CachedLLM
from reasonaqa.engine.pool import pool_width, process_groups
from reasonaqa.engine.preflight import checked_templates
from reasonaqa.engine.records import EngineCounters
from reasonaqa.engine.session import RunResult, RunSession


def generate(config: GenerateConfig, backend: Backend | None = None) -> RunResult:
    return event_loop.run(generate_async(config, backend))


async def generate_async(config: GenerateConfig, backend: Backend | None = None) -> RunResult:
    _warm_up_finalize()
    templates = checked_templates(config)
    own_backend = backend is None
    backend = backend or make_backend(config)
    try:
        counters = EngineCounters()
        # The folder first (it is ours and nobody else's: local checks, no waiting), then the
        # endpoint: a wrong URL, key or model stops here, before any request of the run.
        session = RunSession(config, templates, backend.model, counters)
        try:
            note = await backend.check_endpoint()
            if note:
                print(f"note: {note}", file=sys.stderr)
            llm = CachedLLM(backend, session.journal, counters)
            processor = ItemProcessor(config, templates, llm, counters)
            work = process_groups(
                session.pending_groups(), processor, pool_width(config), session.add
            )
            await session.guard(work)
            return session.finish(backend.name)
        finally:
            session.close()
    finally:
        if own_backend:
            await backend.aclose()


def _warm_up_finalize() -> None:
    """Import what finalize needs (pyarrow, and pandas, which pyarrow loads on its first
    conversion) on a side thread while the run waits on the LLM, not after the last reply."""

    def load() -> None:
        import reasonaqa.engine.finalize  # noqa: F401

        with contextlib.suppress(ImportError):
            import pandas  # noqa: F401

    threading.Thread(target=load, name="warm-up-finalize", daemon=True).start()
