"""Finalize a run: drop duplicates, balance answer letters, write the final shards.

Runs once every record is committed, and again after any resume, always from the journal, so
its output depends only on the set of records: two passes, both streaming from SQLite.
1. Clip by clip, the duplicate filter sees each clip's accepted questions (bounded memory).
2. Split by split, in a seeded order, kept MCQs are dealt the letters a, b, c, d in turn
   (exact 25% balance) and their options placed accordingly; rows go to per-split shards.
Rejected, duplicate and quarantined rows go to ``_rejected/`` and ``_quarantine/`` with
their reason. New shards are written aside and swapped in, so ``data/`` is whole or absent.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasonaqa.config import RunPaths
from reasonaqa.engine.journal import Journal
from reasonaqa.quality.balance import correct_is_longest, place_answer
from reasonaqa.quality.dedup import DuplicateFilter
from reasonaqa.schemas import LETTERS, SET_ASIDE_SCHEMA
from reasonaqa.shards import ShardWriter


@dataclass
class FinalizeResult:
    accepted: int = 0
    by_split: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    duplicates_removed: int = 0
    letters: dict[str, dict[str, int]] = field(default_factory=dict)
    correct_is_longest_rate: float | None = None
    shards: list[str] = field(default_factory=list)


def finalize(journal: Journal, paths: RunPaths, shard_rows: int) -> FinalizeResult:
    journal.commit()
    result = FinalizeResult()
    duplicates = list(_find_duplicates(journal))
    journal.mark_duplicates(duplicates)
    result.duplicates_removed = len(duplicates)
    _write_final(journal, paths, shard_rows, result)
    _write_set_aside(journal, paths, shard_rows, result)
    return result


def _find_duplicates(journal: Journal) -> Iterator[tuple[str, str]]:
    current, dedup = None, DuplicateFilter()
    for record_id, clip_key, row in journal.iter_accepted_by_clip():
        if clip_key != current:
            current, dedup = clip_key, DuplicateFilter()  # questions compete only within a clip
        reason = dedup.check(clip_key, row["question"])
        if reason:
            yield record_id, reason


def _write_final(
    journal: Journal, paths: RunPaths, shard_rows: int, result: FinalizeResult
) -> None:
    staging = paths.root / "_finalize"
    shutil.rmtree(staging, ignore_errors=True)
    writers: dict[str, ShardWriter] = {}
    dealt: Counter[str] = Counter()
    longest = mcqs = 0
    for record_id, row in journal.iter_final():
        split = row["split"]
        if row["task"] == "mcq":
            letter = LETTERS[dealt[split] % len(LETTERS)]
            dealt[split] += 1
            row["options"] = place_answer(row["options"], row["answer"], letter, key=record_id)
            row["answer_letter"] = letter
            mcqs += 1
            longest += correct_is_longest(row["options"], row["answer"])
        if split not in writers:
            writers[split] = ShardWriter(staging, prefix=split, max_rows=shard_rows)
        writers[split].write(_typed(row))
        result.by_split[split] = result.by_split.get(split, 0) + 1
        result.accepted += 1
    for writer in writers.values():
        writer.close()
    _swap_in(staging, paths.data)
    result.shards = sorted(f"data/{p.name}" for p in paths.data.glob("*.parquet"))
    result.correct_is_longest_rate = longest / mcqs if mcqs else None
    result.letters = _letter_counts(dealt)


def _letter_counts(dealt: Counter[str]) -> dict[str, dict[str, int]]:
    """Letters were dealt round-robin, so counts follow from the number of MCQs per split."""
    n = len(LETTERS)
    return {
        split: {letter: total // n + (i < total % n) for i, letter in enumerate(LETTERS)}
        for split, total in sorted(dealt.items())
    }


def _write_set_aside(
    journal: Journal, paths: RunPaths, shard_rows: int, result: FinalizeResult
) -> None:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    folders = {"rejected": paths.rejected, "quarantined": paths.quarantine}
    staging = {status: paths.root / f"_finalize_{status}" for status in folders}
    writers = {
        status: ShardWriter(
            staging[status], prefix=status, max_rows=shard_rows, schema=SET_ASIDE_SCHEMA
        )
        for status in folders
    }
    for status, reason, row in journal.iter_set_aside():
        counts[status][reason] += 1
        writers[status].write(_typed(row) | {"reason": reason})
    for status, writer in writers.items():
        writer.close()
        _swap_in(staging[status], folders[status])
    result.rejected = dict(sorted(counts["rejected"].items()))
    result.quarantined = dict(sorted(counts["quarantined"].items()))


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    """JSON rows carry timestamps as ISO text; Arrow wants datetimes."""
    created = row.get("created_at")
    if isinstance(created, str):
        row["created_at"] = dt.datetime.fromisoformat(created)
    return row


def _swap_in(new: Path, target: Path) -> None:
    new.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f"_old_{target.name}")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
