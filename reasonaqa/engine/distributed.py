"""Generation on a Ray cluster: Ray schedules work units, the driver commits each exactly once.

The driver keeps the journal. It cuts the pending request groups into units (about 64 items,
whole groups) and submits each as a
Ray task; a worker builds its backend once per process (an embedded or vLLM model loads once
per worker, not per unit), processes the unit with the same ``ItemProcessor`` as a local run,
and returns the finished records with the LLM answers it got. The driver journals them as
they arrive. Ray re-runs the task of a worker that dies (``max_retries``); the unit is then
redone from scratch, and since a record id is written once, nothing is duplicated.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from reasonaqa.backends.base import Backend, Completion
from reasonaqa.backends.registry import make_backend
from reasonaqa.config import GenerateConfig
from reasonaqa.engine import loop as event_loop
from reasonaqa.engine.item import ItemProcessor
from reasonaqa.engine.llm import CachedLLM, MemoryResponses
from reasonaqa.engine.pool import pool_width, process_groups
from reasonaqa.engine.preflight import checked_templates
from reasonaqa.engine.records import EngineCounters, FinishedRecord
from reasonaqa.engine.session import RunResult, RunSession
from reasonaqa.engine.signals import kept_handlers
from reasonaqa.engine.work import WorkGroup
from reasonaqa.errors import InputError
from reasonaqa.prompts.store import TemplateStore
from reasonaqa.storage.batches import batched

UNIT_ITEMS = 64
TASK_RETRIES = 5
UnitResult = tuple[list[FinishedRecord], dict[str, Completion], dict[str, int]]


def generate_on_ray(
    config: GenerateConfig, address: str = "local", units_in_flight: int | None = None
) -> RunResult:
    ray = _import_ray()
    templates = checked_templates(config)
    counters = EngineCounters()
    # The session first: a folder that is not ours, or in use, is refused before Ray starts.
    session = RunSession(config, templates, config.model_name(), counters)
    try:
        if not ray.is_initialized():
            with kept_handlers():  # Ctrl-C and SIGTERM still stop the run cleanly
                ray.init(address=None if address == "local" else address, log_to_driver=False)
        event_loop.run(session.guard(_drive(ray, config, session, counters, units_in_flight)))
        return session.finish(config.backend)
    finally:
        session.close()


async def _drive(
    ray: Any,
    config: GenerateConfig,
    session: RunSession,
    counters: EngineCounters,
    units_in_flight: int | None,
) -> None:
    resources = {"num_gpus": config.vllm.tensor_parallel_size} if config.backend == "vllm" else {}
    task = ray.remote(max_retries=TASK_RETRIES, retry_exceptions=False, **resources)(_process_unit)
    limit = units_in_flight or max(2, int(ray.cluster_resources().get("CPU", 2)) * 2)
    config_json = config.model_dump_json()
    pending: list[Any] = []
    # A unit holds whole request groups, so a request's items are committed together.
    unit_groups = max(1, UNIT_ITEMS // config.per_request)
    for unit in batched(itertools.chain.from_iterable(session.pending_groups()), unit_groups):
        if len(pending) >= limit:
            pending = await _collect(ray, pending, session, counters)
        pending.append(task.remote(config_json, unit))
    while pending:
        pending = await _collect(ray, pending, session, counters)


async def _collect(
    ray: Any, pending: list[Any], session: RunSession, counters: EngineCounters
) -> list[Any]:
    """Wait for at least one unit, journal its answers and records, return the rest."""
    done, rest = await asyncio.to_thread(ray.wait, pending, num_returns=1)
    for ref in done:
        records, responses, unit_counters = ray.get(ref)
        for key, completion in responses.items():
            session.journal.put_response(key, completion)
        for record in records:
            session.add(record)
        session.journal.commit()  # one transaction per unit: a unit is committed whole
        counters.add(unit_counters)
    return rest


# --- worker side ---------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _process_unit(config_json: str, groups: list[WorkGroup]) -> UnitResult:
    """A Ray task: process one unit with a backend kept for the life of the worker process."""
    config = GenerateConfig.model_validate_json(config_json)
    loop, backend, templates = _worker_state(config)
    counters = EngineCounters()
    store = MemoryResponses()
    processor = ItemProcessor(config, templates, CachedLLM(backend, store, counters), counters)

    records: list[FinishedRecord] = []
    loop.run_until_complete(process_groups([groups], processor, pool_width(config), records.append))
    return records, store.new, counters.totals()


def _worker_state(
    config: GenerateConfig,
) -> tuple[asyncio.AbstractEventLoop, Backend, TemplateStore]:
    # One loop per worker process: HTTP sessions and vLLM's batcher are bound to their loop.
    key = config.model_dump_json(include={"backend", "model", "base_url", "prompts_dir", "vllm"})
    if _WORKER.get("key") != key:
        loop = event_loop.new_loop()
        _WORKER.update(
            key=key,
            loop=loop,
            backend=make_backend(config),
            templates=TemplateStore(config.prompts_dir),
        )
    return _WORKER["loop"], _WORKER["backend"], _WORKER["templates"]


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as err:
        raise InputError("--ray needs Ray: pip install 'reasonaqa[ray]' (ray[data])") from err
    return ray
