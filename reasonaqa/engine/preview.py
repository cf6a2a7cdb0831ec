"""``preview``: a handful of items through the real path, kept for reading.

Items are sampled with the run seed across splits and tasks (round-robin over the
(split, task) pairs, a new clip each time while there is one). Each goes through the same
``ItemProcessor`` a run uses (render, LLM, validation, checks, second passes) with a journal
in a temporary folder, removed afterwards. A recording wrapper around the backend keeps every
request and reply, so the report shows the prompt and the raw replies; the parsed item and
its check verdicts are read again from the final generation reply.
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reasonaqa.backends.base import Backend, BackendError, ChatRequest, Completion, request_key
from reasonaqa.backends.registry import make_backend
from reasonaqa.config import GenerateConfig
from reasonaqa.engine import loop as event_loop
from reasonaqa.engine.item import ItemProcessor
from reasonaqa.engine.journal import Journal
from reasonaqa.engine.llm import CachedLLM
from reasonaqa.engine.pool import pool_width, process_groups
from reasonaqa.engine.preflight import checked_templates
from reasonaqa.engine.records import EngineCounters, FinishedRecord
from reasonaqa.engine.work import WorkGroup, WorkItem, derive_seed, iter_work
from reasonaqa.quality import checks
from reasonaqa.schemas import LLM_CONTRACTS, McqItem
from reasonaqa.sources.manifests import read_manifest
from reasonaqa.storage.layout import RunPaths

GENERATION_SCHEMAS = frozenset(
    model.__name__ for model in (LLM_CONTRACTS["mcq"], LLM_CONTRACTS["detail"])
)


@dataclass
class Exchange:
    """One request to the LLM and what came back: replies, or the error that ended it."""

    step: str  # "generation", "grounding" or "audio votes"
    request: ChatRequest
    replies: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class CheckVerdicts:
    """The final generation reply, read again: the parsed item and each check's outcome."""

    parsed: dict[str, Any] | None
    error: str | None  # why the reply is not a valid item, when it is not
    failed: list[str]  # check codes that fired, main one first


@dataclass
class PreviewItem:
    item: WorkItem
    record: FinishedRecord
    exchanges: list[Exchange]
    checks: CheckVerdicts | None  # None when no reply came back at all


class RecordingBackend(Backend):
    """A ``Backend`` that forwards every request and keeps it with its outcome, by key."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self.seen: dict[str, tuple[ChatRequest, Completion | BackendError]] = {}

    async def complete(self, request: ChatRequest) -> Completion:
        key = request_key(request, self.model)
        try:
            completion = await self.inner.complete(request)
        except BackendError as err:
            self.seen[key] = (request, err)
            raise
        self.seen[key] = (request, completion)
        return completion

    async def check_endpoint(self) -> str | None:
        return await self.inner.check_endpoint()

    async def aclose(self) -> None:
        await self.inner.aclose()


def sample_items(items: Iterable[WorkItem], count: int, seed: int) -> list[WorkItem]:
    """``count`` items spread over (split, task) pairs and clips, chosen with ``seed``.

    Keeps at most ``count`` candidates per pair (reservoir sampling), so a large manifest is
    read once in bounded memory.
    """
    rng = random.Random(seed)
    pools: dict[tuple[str, str], list[WorkItem]] = {}
    seen: Counter[tuple[str, str]] = Counter()
    for item in items:
        key = (item.clip.split, item.task)
        pool = pools.setdefault(key, [])
        seen[key] += 1
        if len(pool) < count:
            pool.append(item)
        elif (slot := rng.randrange(seen[key])) < count:
            pool[slot] = item
    for pool in pools.values():
        rng.shuffle(pool)
    # Splits in a seeded order, each with all of its tasks: a short preview sees every task.
    splits = sorted({split for split, _ in pools})
    rng.shuffle(splits)
    queues = [pools[key] for split in splits for key in sorted(pools) if key[0] == split]
    chosen: list[WorkItem] = []
    clips: set[str] = set()
    for fresh_only in (True, False):  # a new clip each time while there is one
        while len(chosen) < count and _take_round(queues, chosen, clips, count, fresh_only):
            pass
    return chosen


def _take_round(
    queues: list[list[WorkItem]],
    chosen: list[WorkItem],
    clips: set[str],
    count: int,
    fresh_only: bool,
) -> bool:
    """One item from each queue in turn, up to ``count`` in all (only of clips not chosen
    yet when ``fresh_only``); False when no queue gave one."""
    took = False
    for pool in queues:
        index = next((i for i, it in enumerate(pool) if it.clip_key not in clips), None)
        if index is None and pool and not fresh_only:
            index = 0
        if index is None or len(chosen) >= count:
            continue
        item = pool.pop(index)
        chosen.append(item)
        clips.add(item.clip_key)
        took = True
    return took


def preview(
    config: GenerateConfig, count: int, backend: Backend | None = None
) -> list[PreviewItem]:
    """Run ``count`` sampled items in a temporary folder; ``config.output`` is not used."""
    return event_loop.run(preview_async(config, count, backend))


async def preview_async(
    config: GenerateConfig, count: int, backend: Backend | None = None
) -> list[PreviewItem]:
    # One item a request, whatever --per-request says: each sampled item is shown on its own.
    config = config.model_copy(update={"per_request": 1})
    templates = checked_templates(config)
    items = sample_items(iter_work(config, read_manifest(config.manifest)), count, config.seed)
    own_backend = backend is None
    recorder = RecordingBackend(backend or make_backend(config))
    try:
        with tempfile.TemporaryDirectory(prefix="reasonaqa-preview-") as folder:
            journal = Journal(RunPaths(Path(folder)).journal)
            try:
                counters = EngineCounters()
                llm = CachedLLM(recorder, journal, counters)
                processor = ItemProcessor(config, templates, llm, counters)
                records: dict[str, FinishedRecord] = {}
                await process_groups(
                    [[WorkGroup([item], [item]) for item in items]],
                    processor,
                    pool_width(config),
                    lambda record: records.__setitem__(record.record_id, record),
                )
            finally:
                journal.close()
    finally:
        if own_backend:
            await recorder.aclose()
    return [_explain(config, item, records[item.record_id], recorder) for item in items]


def _explain(
    config: GenerateConfig, item: WorkItem, record: FinishedRecord, recorder: RecordingBackend
) -> PreviewItem:
    exchanges = [
        _exchange(config, item, *recorder.seen[key])
        for key in record.request_keys
        if key in recorder.seen
    ]
    generated = [e for e in exchanges if e.step == "generation" and e.replies]
    verdicts = _check(item, generated[-1].replies[0]) if generated else None
    return PreviewItem(item, record, exchanges, verdicts)


def _exchange(
    config: GenerateConfig,
    item: WorkItem,
    request: ChatRequest,
    outcome: Completion | BackendError,
) -> Exchange:
    if request.schema_name in GENERATION_SCHEMAS:
        step = "generation"
    # Judge requests are seeded by their pass's name (``item.ItemProcessor.audio_votes``).
    elif request.seed == derive_seed(config.seed, item.record_id, "audio"):
        step = "audio votes"
    else:
        step = "grounding"
    if isinstance(outcome, BackendError):
        return Exchange(step, request, error=f"{outcome.reason}: {outcome}")
    return Exchange(step, request, replies=list(outcome.texts))


def _check(item: WorkItem, reply: str) -> CheckVerdicts:
    """The reply validated against its contract, then every deterministic check on it."""
    try:
        parsed = LLM_CONTRACTS[item.task].model_validate_json(reply)
    except ValidationError as err:
        return CheckVerdicts(
            None, f"{err.error_count()} validation error(s): {err.errors()[0]['msg']}", []
        )
    captions = list(item.clip.captions)
    if isinstance(parsed, McqItem):
        failed = checks.check_mcq(parsed, captions)
    else:
        failed = checks.check_detail(parsed, captions)  # type: ignore[arg-type]
    return CheckVerdicts(parsed.model_dump(), None, failed)
