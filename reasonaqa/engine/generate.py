"""``generate``: the whole local run, resumable by rerunning the same command.

Order of work: check every input before anything is written (manifest, templates); open the
journal and refuse a folder made with other settings (``RunSession``); stream the pending
work items through the worker pool; commit in chunks; finalize.
"""

from __future__ import annotations

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
    templates = checked_templates(config)
    own_backend = backend is None
    backend = backend or make_backend(config)
    try:
        counters = EngineCounters()
        session = RunSession(config, templates, backend.model, counters)
        try:
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
