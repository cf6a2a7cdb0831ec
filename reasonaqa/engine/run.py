"""``generate``: the whole run, resumable by rerunning the same command.

Order of work: check every input before anything is written (manifest, templates); open the
journal and refuse a folder made with other settings; stream work items from the manifest,
skipping committed ones; process them with bounded concurrency; commit in chunks; finalize.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import shutil
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from reasonaqa import __version__
from reasonaqa.atomic import write_text_atomic
from reasonaqa.backends.base import Backend
from reasonaqa.backends.registry import make_backend
from reasonaqa.config import GenerateConfig, RunPaths
from reasonaqa.engine import loop as event_loop
from reasonaqa.engine.finalize import FinalizeResult, finalize
from reasonaqa.engine.fingerprint import fingerprint, fingerprint_payload
from reasonaqa.engine.item import CachedLLM, EngineCounters, ItemProcessor
from reasonaqa.engine.journal import FinishedRecord, Journal
from reasonaqa.engine.progress import Progress
from reasonaqa.engine.work import FOCUS_DESCRIPTIONS, WorkItem, count_work, iter_work
from reasonaqa.errors import InputError
from reasonaqa.manifests import read_manifest
from reasonaqa.prompts import TemplateStore

EXIT_QUARANTINED = 3
COMMIT_EVERY = 512
REFRESH_EVERY_S = 2.0

T = TypeVar("T")


@dataclass
class RunResult:
    run_dir: Path
    fingerprint: str
    final: FinalizeResult

    @property
    def accepted(self) -> int:
        return self.final.accepted

    @property
    def rejected(self) -> dict[str, int]:
        return self.final.rejected

    @property
    def quarantined(self) -> int:
        return sum(self.final.quarantined.values())

    @property
    def exit_code(self) -> int:
        """Non-zero when some items could not be had from the LLM: see ``retry-failed``."""
        return EXIT_QUARANTINED if self.quarantined else 0


def generate(config: GenerateConfig, backend: Backend | None = None) -> RunResult:
    return event_loop.run(generate_async(config, backend))


async def generate_async(config: GenerateConfig, backend: Backend | None = None) -> RunResult:
    templates = checked_templates(config)
    own_backend = backend is None
    backend = backend or make_backend(config)
    try:
        return await _run(config, templates, backend)
    finally:
        if own_backend:
            await backend.aclose()


def release_quarantined(run: Path, overrides: dict[str, Any]) -> tuple[GenerateConfig, int]:
    """Forget a run's quarantined records and their answers; return its saved settings.

    Generating again with those settings then redoes exactly the released items, asking the
    LLM afresh. ``overrides`` may change what does not shape the data (endpoint, speed).
    """
    paths = RunPaths(run)
    if not paths.journal.is_file():
        raise InputError("not a run folder (no _journal.sqlite)", file=run)
    journal = Journal(paths.journal)
    try:
        saved = journal.get_meta("config")
        if saved is None:
            raise InputError("the run has no saved configuration", file=paths.journal)
        quarantined = journal.quarantined()
        journal.forget_responses(key for _, keys in quarantined for key in keys)
        journal.delete_records(rid for rid, _ in quarantined)
    finally:
        journal.close()
    config = GenerateConfig.model_validate(json.loads(saved) | overrides | {"output": str(run)})
    return config, len(quarantined)


def template_ids(config: GenerateConfig) -> list[str]:
    ids = [f"{task}_{config.variant}" for task in config.tasks]
    if config.grounding_enabled:
        ids += [f"check_grounding_{task}" for task in config.tasks]
    if "mcq" in config.tasks and config.audio_votes > 0:
        ids.append("check_audio_dependence")
    return ids


def checked_templates(config: GenerateConfig) -> TemplateStore:
    """Load and render every template once on the first clip: fail before writing anything."""
    clip = next(iter(read_manifest(config.manifest)), None)
    if clip is None:
        raise InputError("manifest has no clips", file=config.manifest)
    store = TemplateStore(config.prompts_dir)
    focus = next(iter(FOCUS_DESCRIPTIONS))
    context: dict[str, Any] = {
        "captions": list(clip.captions),
        "caption": clip.captions[0],
        "focus": focus,
        "focus_description": FOCUS_DESCRIPTIONS[focus],
        "dataset": clip.dataset,
        "question": "q",
        "options": ["a", "b", "c", "d"],
        "answer": "a",
    }
    for template_id in template_ids(config):
        store.get(template_id).render(**context)
    return store


async def _run(config: GenerateConfig, templates: TemplateStore, backend: Backend) -> RunResult:
    counters = EngineCounters()
    session = RunSession(config, templates, backend.model, counters, _retries(backend))
    try:
        processor = ItemProcessor(
            config, templates, CachedLLM(backend, session.journal, counters), counters
        )
        await session.guard(_process_all(config, session, processor))
        return session.finish(backend.name)
    finally:
        session.close()


class RunSession:
    """A run's durable side: journal and fingerprint, progress, finalize and the run manifest.

    Shared by the local engine and the Ray driver, which differ only in how items get processed.
    """

    def __init__(
        self,
        config: GenerateConfig,
        templates: TemplateStore,
        model: str,
        counters: EngineCounters,
        retries: Callable[[], int],
    ) -> None:
        self.config = config
        self.paths = RunPaths(config.output)
        self.model = model
        self.counters = counters
        self.hashes = {tid: templates.get(tid).hash for tid in template_ids(config)}
        self.payload = fingerprint_payload(config, model, self.hashes)
        # Reading the whole manifest first validates every line before anything is written.
        total = count_work(config, read_manifest(config.manifest))
        self.journal = _open_journal(self.paths, config, self.payload)
        done: Counter[str] = Counter()
        for (status, _reason), count in self.journal.status_counts().items():
            done[status] += count
        self.resumed = sum(done.values()) > 0
        self.progress = Progress(
            self.paths.progress, total, done, counters, retries, config.progress
        )
        self.started = dt.datetime.now(dt.UTC)

    def pending_items(self, batch_size: int = 512) -> Iterator[list[WorkItem]]:
        """Work items in manifest order, in batches, without the ones already committed."""
        items = iter_work(self.config, read_manifest(self.config.manifest))
        if not self.resumed:  # nothing was committed before: every item is pending
            yield from _batched(items, batch_size)
            return
        for batch in _batched(items, batch_size):
            committed = self.journal.committed_among([item.record_id for item in batch])
            yield [item for item in batch if item.record_id not in committed]

    def commit(self, record: FinishedRecord) -> None:
        self.journal.add_record(record)
        self.progress.record(record.status)
        if self.journal.pending >= COMMIT_EVERY:
            self.journal.commit()

    def tick(self) -> None:
        self.journal.commit()
        self.progress.refresh()

    async def guard(self, work: Awaitable[None]) -> None:
        """Run the work with a progress ticker; on any interruption keep what is done."""

        async def ticker() -> None:
            while True:
                await asyncio.sleep(REFRESH_EVERY_S)
                self.tick()

        task = asyncio.create_task(ticker())
        try:
            await work
        except BaseException:
            self.journal.commit()
            self.progress.close("interrupted")
            raise
        finally:
            task.cancel()
            self.journal.commit()

    def finish(self, backend_name: str) -> RunResult:
        self.progress.close("finalizing")
        final = finalize(self.journal, self.paths, self.config.shard_rows)
        result = RunResult(self.paths.root, fingerprint(self.payload), final)
        _write_run_manifest(self, backend_name, result)
        self.progress.refresh("done")
        return result

    def close(self) -> None:
        self.journal.close()


def _open_journal(paths: RunPaths, config: GenerateConfig, payload: dict[str, Any]) -> Journal:
    new_print = fingerprint(payload)
    journal = Journal(paths.journal)
    old_print = journal.get_meta("fingerprint")
    if old_print not in (None, new_print):
        if not config.force_new:
            journal.close()
            raise InputError(
                f"{paths.root} holds a run made with other settings (fingerprint {old_print}, "
                f"now {new_print}); use another -o, or --force-new to start it over"
            )
        journal.reset_records()  # cached LLM answers stay: identical requests still hit them
        for folder in (paths.data, paths.rejected, paths.quarantine):
            shutil.rmtree(folder, ignore_errors=True)
    journal.set_meta("fingerprint", new_print)
    journal.set_meta("config", config.model_dump_json())
    return journal


async def _process_all(
    config: GenerateConfig, session: RunSession, processor: ItemProcessor
) -> None:
    workers = _workers(config)
    queue: asyncio.Queue[WorkItem | None] = asyncio.Queue(maxsize=workers * 2)

    async def produce() -> None:
        for batch in session.pending_items():
            for item in batch:
                await queue.put(item)
        for _ in range(workers):
            await queue.put(None)

    async def work() -> None:
        while (item := await queue.get()) is not None:
            session.commit(await processor.process(item))

    await asyncio.gather(produce(), *(work() for _ in range(workers)))


def _workers(config: GenerateConfig) -> int:
    """Items in flight: the embedded model answers one at a time; others keep the backend's
    request limit busy even while some items wait out a retry."""
    return 1 if config.backend == "embedded" else config.in_flight * 2


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _retries(backend: Backend) -> Callable[[], int]:
    stats = getattr(backend, "stats", None)
    return lambda: int(getattr(stats, "retries", 0))


def _write_run_manifest(session: RunSession, backend_name: str, result: RunResult) -> None:
    final, counters = result.final, session.counters
    manifest = {
        "reasonaqa_version": __version__,
        "fingerprint": result.fingerprint,
        "fingerprint_payload": session.payload,
        "config": json.loads(session.config.model_dump_json()),
        "backend": backend_name,
        "model": session.model,
        "templates": session.hashes,
        "counts": {
            "accepted": final.accepted,
            "by_split": final.by_split,
            "rejected": final.rejected,
            "quarantined": result.quarantined,
            "quarantined_by_reason": final.quarantined,
            "duplicates_removed": final.duplicates_removed,
        },
        "answer_letters": final.letters,
        "correct_is_longest_rate": final.correct_is_longest_rate,
        "shards": final.shards,
        "session": {
            "llm_calls": counters.calls,
            "cache_hits": counters.cache_hits,
            "length_retries": counters.length_retries,
            "feedback_retries": counters.feedback_retries,
            "prompt_tokens": counters.prompt_tokens,
            "completion_tokens": counters.completion_tokens,
            "started_at": session.started.isoformat(timespec="seconds"),
            "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
    }
    write_text_atomic(
        session.paths.run_manifest, json.dumps(manifest, indent=2, default=str) + "\n"
    )
