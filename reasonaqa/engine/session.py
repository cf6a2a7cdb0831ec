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
from typing import TYPE_CHECKING, Any

from reasonaqa import __version__
from reasonaqa.backends.base import HIDDEN, redact_url
from reasonaqa.config import GenerateConfig
from reasonaqa.engine.counts import RunCounts
from reasonaqa.engine.fingerprint import fingerprint, fingerprint_payload
from reasonaqa.engine.history import SessionEntry, append_session, load_sessions, usage_totals
from reasonaqa.engine.journal import Journal
from reasonaqa.engine.preflight import template_ids
from reasonaqa.engine.progress import Progress
from reasonaqa.engine.records import EngineCounters, FinishedRecord
from reasonaqa.engine.tally import tally
from reasonaqa.engine.work import WorkGroup, count_work, iter_groups
from reasonaqa.errors import InputError
from reasonaqa.prompts.store import TemplateStore
from reasonaqa.sources.manifests import read_manifest
from reasonaqa.storage.atomic import write_text_atomic
from reasonaqa.storage.batches import batched
from reasonaqa.storage.folder_lock import FolderLock
from reasonaqa.storage.layout import RunPaths
from reasonaqa.storage.ownership import claim_folder, read_marker

if TYPE_CHECKING:
    from reasonaqa.engine.finalize import FinalizeResult

EXIT_QUARANTINED = 3
COMMIT_EVERY = 512  # records per durable transaction
REFRESH_EVERY_S = 2.0
BATCH_ITEMS = 512  # work items looked up in the journal at a time on resume


@dataclass
class RunResult:
    run_dir: Path
    fingerprint: str
    final: FinalizeResult
    counts: RunCounts  # the run's numbers, as its summary, _run.json and card show them
    cost_usd: float | None = None  # what its tokens cost, when the run has prices

    @property
    def accepted(self) -> int:
        """Rows shipped under ``data/``."""
        return self.final.accepted

    @property
    def rejected(self) -> dict[str, int]:
        return dict(self.counts.rejected)

    @property
    def quarantined(self) -> int:
        return self.counts.quarantined_total

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
        # A folder of ours is locked first, so a second process stops at once; a new one is
        # made only after reading the whole manifest has validated every line.
        lock = _claim_and_lock(self.paths) if read_marker(self.paths.root) else None
        try:
            total = count_work(config, read_manifest(config.manifest))
            lock = lock or _claim_and_lock(self.paths)
            self.journal = _open_journal(self.paths, config, self.payload)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        self.lock = lock
        done = Counter(self.journal.status_counts())
        self.resumed = sum(done.values()) > 0
        earlier = usage_totals(load_sessions(self.journal))
        prices = (config.price_input, config.price_output)
        self.progress = Progress(
            self.paths.progress, total, done, earlier, counters, prices, config.progress
        )
        self.started = dt.datetime.now(dt.UTC)
        self._items_before = sum(done.values())

    def pending_groups(self) -> Iterator[list[WorkGroup]]:
        """Request groups in manifest order, in batches, each with its items not yet committed;
        a group whose items are all committed is left out (its request is not asked again)."""
        groups = iter_groups(
            self.config, read_manifest(self.config.manifest), self.journal.reseeds()
        )
        size = max(1, BATCH_ITEMS // self.config.per_request)
        if not self.resumed:  # nothing was committed before: every item is pending
            yield from batched(groups, size)
            return
        for batch in batched(groups, size):
            ids = [item.record_id for group in batch for item in group.items]
            committed = self.journal.committed_among(ids)
            yield [pending for group in batch if (pending := _without(group, committed))]

    def add(self, record: FinishedRecord) -> None:
        """Buffer a finished record; commit the buffer every ``COMMIT_EVERY`` records."""
        self.journal.add_record(record)
        self.progress.record(record.status, record.reason)
        if self.journal.pending >= COMMIT_EVERY:
            self.journal.commit()

    def tick(self) -> None:
        self.journal.commit()
        self.progress.refresh()

    async def guard(self, work: Awaitable[None]) -> None:
        """Run the work with a progress ticker; on any interruption keep what is done."""
        main = asyncio.current_task()
        failed: list[Exception] = []

        async def ticker() -> None:
            try:
                while True:
                    await asyncio.sleep(REFRESH_EVERY_S)
                    self.tick()
            except Exception as err:  # a full disk, say: it ends the run rather than vanish
                failed.append(err)
                if main is not None:
                    main.cancel()

        task = asyncio.create_task(ticker())
        try:
            await work
        except BaseException as err:
            self.journal.commit()
            self._record_session("interrupted")  # its calls were paid for: keep them counted
            self.progress.close("interrupted")
            if failed and isinstance(err, asyncio.CancelledError):
                raise failed[0] from None
            raise
        finally:
            task.cancel()
            self.journal.commit()

    def finish(self, backend_name: str) -> RunResult:
        from reasonaqa.engine.finalize import finalize  # Arrow: loaded while the run went

        self.progress.close("finalizing")
        final = finalize(self.journal, self.paths, self.config.shard_rows)
        sessions = self._record_session("finished")
        counts = tally(self.journal.status_counts(), usage_totals(sessions), final)
        cost = counts.cost_usd(self.config.price_input, self.config.price_output)
        result = RunResult(self.paths.root, fingerprint(self.payload), final, counts, cost)
        _write_run_manifest(self, backend_name, result, sessions)
        self.progress.finish(counts)
        return result

    def _record_session(self, state: str) -> list[dict[str, Any]]:
        """Append this session to the run's history (durably); returns the whole history."""
        items = sum(self.progress.done.values()) - self._items_before
        entry = SessionEntry.of(self.started, state, items, self.counters)
        return append_session(self.journal, entry)

    def close(self) -> None:
        try:
            self.journal.close()
        finally:
            self.lock.release()


def _without(group: WorkGroup, committed: set[str]) -> WorkGroup | None:
    """The group with only its uncommitted items pending; None when none is left."""
    pending = [item for item in group.items if item.record_id not in committed]
    if len(pending) == len(group.items):
        return group
    return WorkGroup(group.items, pending) if pending else None


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
    # The lock is held only while releasing: generating takes it again, in this process.
    lock = _claim_and_lock(paths)
    journal = Journal(paths.journal)
    try:
        config = _saved_config(journal, paths, overrides | {"output": str(run)})
        quarantined = journal.quarantined()
        if reseed:
            journal.reseed(rid for rid, _ in quarantined)
        journal.forget_responses(key for _, keys in quarantined for key in keys)
        journal.delete_records(rid for rid, _ in quarantined)
    finally:
        journal.close()
        lock.release()
    return config, len(quarantined)


def _saved_config(journal: Journal, paths: RunPaths, overrides: dict[str, Any]) -> GenerateConfig:
    """The run's settings with ``overrides``, checked usable before anything changes."""
    saved = journal.get_meta("config")
    if saved is None:
        raise InputError("the run has no saved configuration", file=paths.journal)
    try:
        config = GenerateConfig.model_validate(json.loads(saved) | overrides)
    except ValueError as err:
        raise InputError(
            f"the run's saved configuration is invalid: {err}", file=paths.journal
        ) from None
    if not config.manifest.is_file():
        raise InputError("the run's manifest is gone", file=config.manifest)
    if not config.prompts_dir.is_dir():
        raise InputError("the run's prompts folder is gone", file=config.prompts_dir)
    if config.base_url is not None and HIDDEN in config.base_url:
        raise InputError(
            "the run's endpoint had credentials in its URL, which are never stored: "
            "pass --base-url again",
            file=paths.root,
        )
    return config


def _claim_and_lock(paths: RunPaths) -> FolderLock:
    """Refuse a folder that is not a run of ours, then one that another process writes."""
    claim_folder(paths.root, "run")
    lock = FolderLock(paths.lock)
    lock.acquire()
    return lock


def stored_config(config: GenerateConfig) -> str:
    """The settings as saved in the journal and ``_run.json``: URL credentials hidden."""
    url = redact_url(config.base_url) if config.base_url is not None else None
    return config.model_copy(update={"base_url": url}).model_dump_json()


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
    journal.set_meta("config", stored_config(config))
    return journal


def _write_run_manifest(
    session: RunSession, backend_name: str, result: RunResult, sessions: list[dict[str, Any]]
) -> None:
    final, config = result.final, session.config
    manifest = {
        "reasonaqa_version": __version__,
        "fingerprint": result.fingerprint,
        "fingerprint_payload": session.payload,
        "config": json.loads(stored_config(session.config)),
        "backend": backend_name,
        "model": session.model,
        "templates": session.hashes,
        "counts": result.counts.to_json(),
        "cost_usd": _cost(result, config),
        "answer_letters": final.letters,
        "correct_is_longest_rate": final.correct_is_longest_rate,
        "shards": final.shards,
        # Every session of the run, oldest first; the counts' LLM usage is their sum.
        "sessions": sessions,
    }
    write_text_atomic(
        session.paths.run_manifest, json.dumps(manifest, indent=2, default=str) + "\n"
    )


def _cost(result: RunResult, config: GenerateConfig) -> dict[str, float | None] | None:
    """Spent USD at the run's prices (per million tokens); None when no price was given."""
    if result.cost_usd is None:
        return None
    return {
        "price_input": config.price_input,
        "price_output": config.price_output,
        "spent": round(result.cost_usd, 6),
    }
