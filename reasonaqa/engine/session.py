"""A run's durable side: journal and fingerprint, progress, finalize, the run manifest, and
releasing quarantined records for ``retry-failed``.

Shared by the local engine (``generate``) and the Ray driver (``distributed``), which differ
only in how items get processed. Words: a finished record is *added* to the journal's
buffer; ``Journal.commit`` is the durable transaction that writes the buffer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
from collections import Counter
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasonaqa import __version__
from reasonaqa.config import GenerateConfig
from reasonaqa.engine.finalize import FinalizeResult, finalize
from reasonaqa.engine.fingerprint import fingerprint, fingerprint_payload
from reasonaqa.engine.journal import Journal
from reasonaqa.engine.preflight import template_ids
from reasonaqa.engine.progress import Progress
from reasonaqa.engine.records import EngineCounters, FinishedRecord
from reasonaqa.engine.work import WorkItem, count_work, iter_work
from reasonaqa.errors import InputError
from reasonaqa.prompts.store import TemplateStore
from reasonaqa.sources.manifests import read_manifest
from reasonaqa.storage.atomic import write_text_atomic
from reasonaqa.storage.layout import RunPaths
from reasonaqa.storage.shards import batched

EXIT_QUARANTINED = 3
COMMIT_EVERY = 512  # records per durable transaction
REFRESH_EVERY_S = 2.0
BATCH_ITEMS = 512  # work items looked up in the journal at a time on resume


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


class RunSession:
    """Opens (or resumes) a run folder's journal and keeps its progress until finalize."""

    def __init__(
        self,
        config: GenerateConfig,
        templates: TemplateStore,
        model: str,
        counters: EngineCounters,
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
        self.progress = Progress(self.paths.progress, total, done, counters, config.progress)
        self.started = dt.datetime.now(dt.UTC)

    def pending_items(self) -> Iterator[list[WorkItem]]:
        """Work items in manifest order, in batches, without the ones already committed."""
        items = iter_work(self.config, read_manifest(self.config.manifest), self.journal.reseeds())
        if not self.resumed:  # nothing was committed before: every item is pending
            yield from batched(items, BATCH_ITEMS)
            return
        for batch in batched(items, BATCH_ITEMS):
            committed = self.journal.committed_among([item.record_id for item in batch])
            yield [item for item in batch if item.record_id not in committed]

    def add(self, record: FinishedRecord) -> None:
        """Buffer a finished record; commit the buffer every ``COMMIT_EVERY`` records."""
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


def release_quarantined(
    run: Path, overrides: dict[str, Any], reseed: bool = False
) -> tuple[GenerateConfig, int]:
    """Forget a run's quarantined records and their answers; return its saved settings.

    Generating again with those settings then redoes exactly the released items, asking the
    LLM afresh. ``overrides`` may change what does not shape the data (endpoint, speed).
    ``reseed`` also gives each released item a new seed (``work.item_seed``): a model that
    answers a seeded request the same way every time then gets a different request. The
    record ids, the fingerprint and every other item stay as they were; the row's ``seed``
    column says which seed was used. Everything is checked before the journal changes.
    """
    paths = RunPaths(run)
    if not paths.journal.is_file():
        raise InputError("not a run folder (no _journal.sqlite)", file=run)
    journal = Journal(paths.journal)
    try:
        saved = journal.get_meta("config")
        if saved is None:
            raise InputError("the run has no saved configuration", file=paths.journal)
        config = GenerateConfig.model_validate(json.loads(saved) | overrides | {"output": str(run)})
        if not Path(config.manifest).is_file():
            raise InputError("the run's manifest is gone", file=config.manifest)
        quarantined = journal.quarantined()
        if reseed:
            journal.reseed(rid for rid, _ in quarantined)
        journal.forget_responses(key for _, keys in quarantined for key in keys)
        journal.delete_records(rid for rid, _ in quarantined)
    finally:
        journal.close()
    return config, len(quarantined)


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
            **counters.totals(),
            "started_at": session.started.isoformat(timespec="seconds"),
            "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
    }
    write_text_atomic(
        session.paths.run_manifest, json.dumps(manifest, indent=2, default=str) + "\n"
    )
