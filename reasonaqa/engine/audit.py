"""``reasonaqa check``: audit the rows of any QA file with the checks and passes ``generate``
runs, and write one JSON line per row, in input order.

Deterministic checks: ``quality.audit.deterministic_reasons`` (``checks.check_mcq`` /
``check_detail``, as in ``ItemProcessor``). LLM passes (``--llm``): ``SecondPasses.run``, the
method ``ItemProcessor`` calls, on the rows the checks pass (``generate`` asks its judges only
about those), keyed by the row's id. Answers are cached in a journal beside the output
(``OUTPUT.cache/_journal.sqlite``), keyed by the exact request as in a run, so a rerun asks
nothing again. A pass that gets no verdict (transport, timeout, judge_unreadable) is no
verdict: the row says so under ``passes.error`` and gets no reason for it.

Each output line is the input row's own fields plus ``reasons`` (the codes that fire, in
order; [] passes), ``skipped`` for rows passed through unchecked, and with ``--llm``
``passes`` (grounded, audio_votes, audio_contribution; null for rows not asked).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from reasonaqa.backends.base import Backend
from reasonaqa.backends.registry import make_backend
from reasonaqa.config import LLMSettings
from reasonaqa.engine import loop as event_loop
from reasonaqa.engine.journal import Journal
from reasonaqa.engine.judges import SecondPasses
from reasonaqa.engine.llm import CachedLLM, ItemFailure
from reasonaqa.engine.pool import pool_width
from reasonaqa.engine.records import EngineCounters
from reasonaqa.prompts.store import TemplateStore
from reasonaqa.quality.audit import AuditRow, as_item, deterministic_reasons
from reasonaqa.storage.atomic import atomic_path
from reasonaqa.storage.batches import batched

BATCH_ROWS = 1024  # rows checked, judged and written at a time: memory stays flat
CACHE_SUFFIX = ".cache"
Passes = dict[str, Any]


@dataclass
class AuditSummary:
    """What ``check`` found, for its report on stdout."""

    rows: int = 0
    skipped: int = 0
    flagged: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    pass_errors: Counter[str] = field(default_factory=Counter)
    counters: EngineCounters | None = None

    @property
    def passed(self) -> int:
        return self.rows - self.skipped - self.flagged


def cache_journal_path(output: Path) -> Path:
    """Where ``--llm`` keeps its answers: ``OUTPUT.cache/_journal.sqlite``."""
    return output.with_name(output.name + CACHE_SUFFIX) / "_journal.sqlite"


def audit(
    rows: Iterable[AuditRow],
    output: Path,
    settings: LLMSettings | None = None,
    backend: Backend | None = None,
) -> AuditSummary:
    """Check every row and write the output; ``settings`` turns the LLM passes on."""
    return event_loop.run(audit_async(rows, output, settings, backend))


async def audit_async(
    rows: Iterable[AuditRow],
    output: Path,
    settings: LLMSettings | None = None,
    backend: Backend | None = None,
) -> AuditSummary:
    summary = AuditSummary()
    with atomic_path(output) as tmp, open(tmp, "wb") as fh:
        if settings is None:
            for batch in batched(rows, BATCH_ROWS):
                reasons = [deterministic_reasons(row) for row in batch]
                _write(fh, batch, reasons, None, summary)
            return summary
        cache = cache_journal_path(output)
        await _audit_with_passes(rows, fh, cache, settings, backend, summary)
    return summary


async def _audit_with_passes(
    rows: Iterable[AuditRow],
    fh: IO[bytes],
    cache: Path,
    settings: LLMSettings,
    backend: Backend | None,
    summary: AuditSummary,
) -> None:
    templates = TemplateStore(settings.prompts_dir)  # a bad --prompts fails before the model loads
    own_backend = backend is None
    backend = backend or make_backend(settings)
    journal = Journal(cache)
    counters = summary.counters = EngineCounters()
    try:
        llm = CachedLLM(backend, journal, counters)
        passes = SecondPasses(settings, templates, llm, counters)
        width = asyncio.Semaphore(pool_width(settings))
        for batch in batched(rows, BATCH_ROWS):
            reasons = [deterministic_reasons(row) for row in batch]
            asked = [
                _judge(passes, row, width) if row.task and not found else _nothing()
                for row, found in zip(batch, reasons, strict=True)
            ]
            judged = await asyncio.gather(*asked)
            for found, (_, reason) in zip(reasons, judged, strict=True):
                if reason:
                    found.append(reason)
            _write(fh, batch, reasons, [verdicts for verdicts, _ in judged], summary)
            journal.commit()  # a rerun after any stop finds every answer got so far
    finally:
        journal.close()
        if own_backend:
            await backend.aclose()


async def _judge(
    passes: SecondPasses, row: AuditRow, width: asyncio.Semaphore
) -> tuple[Passes, str | None]:
    """The row's second-pass verdicts, and the reason code when they reject it."""
    async with width:
        try:
            verdicts = await passes.run(row.id, row.captions, as_item(row), [])
        except ItemFailure as failure:
            return {"error": failure.reason}, None
    found = {
        "grounded": verdicts.grounded,
        "audio_votes": verdicts.audio_votes,
        "audio_contribution": verdicts.audio_contribution,
    }
    return found, verdicts.reason


async def _nothing() -> tuple[None, None]:
    """What a row the judges are not asked about gets (it failed a check, or is skipped)."""
    return None, None


def _write(
    fh: IO[bytes],
    batch: list[AuditRow],
    reasons: list[list[str]],
    verdicts: list[Passes | None] | None,
    summary: AuditSummary,
) -> None:
    """One JSON line per row: its own fields, then what the audit found."""
    lines = []
    for i, (row, found) in enumerate(zip(batch, reasons, strict=True)):
        line = {**row.fields, "reasons": found}
        if row.skipped:
            line["skipped"] = row.skipped
        if verdicts is not None:
            line["passes"] = verdicts[i]
            if verdicts[i] and "error" in verdicts[i]:
                summary.pass_errors[verdicts[i]["error"]] += 1
        lines.append(orjson.dumps(line, default=str, option=orjson.OPT_APPEND_NEWLINE))
        summary.rows += 1
        summary.skipped += row.skipped is not None
        summary.flagged += bool(found)
        summary.by_reason.update(found)
    fh.write(b"".join(lines))
