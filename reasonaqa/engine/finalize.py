"""Finalize a run: drop duplicates, balance answer letters, write the final shards.

Runs once every record is committed, and again after any resume, always from the journal, so
its output depends only on the set of records. Two passes, both streaming from SQLite:
1. Clip by clip, ``clip_duplicates`` compares each clip's accepted questions (bounded memory).
2. Split by split, in a seeded order, kept MCQs are dealt the letters a, b, c, d in turn
   (exact 25% balance: ``quality.balance`` is the one home of the dealing rule). Rows arrive as
   JSON and are parsed by Arrow in batches; an MCQ's options were stored answer first with
   the distractors in a seeded order (``balance.canonical_options``), so placing the answer at its
   letter is one vectorised gather per batch.
Rejected, duplicate and quarantined rows go to ``_rejected/`` and ``_quarantine/`` with
their reason, message and judge reply. New shards are written aside and published whole.
How many of each there are is ``engine.tally``'s business, from the journal.

A finalize leaves a stamp in the journal (``meta.finalized``: the records version it read,
the shard size, its result). While the records are unchanged and its shards are in place, the
next finalize returns that result without reading a row: a finished run reruns in moments.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import itertools
import json
import operator
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from reasonaqa import __version__
from reasonaqa.engine.journal import Journal
from reasonaqa.quality.balance import PLACE, dealt_letters, letter_counts
from reasonaqa.quality.dedup import DUPLICATE_REASONS, clip_duplicates
from reasonaqa.schemas import LETTERS
from reasonaqa.storage.arrow import QA_SCHEMA, SET_ASIDE_SCHEMA
from reasonaqa.storage.layout import RunPaths
from reasonaqa.storage.publish import staged_folder
from reasonaqa.storage.shards import SplitShardWriter

BATCH_ROWS = 2048
STAMP_KEY = "finalized"
# Bump when finalize writes something else for the same records (with the package version,
# which the stamp records too, any release refinalizes once).
FINALIZE_FORMAT = 1


@dataclass
class FinalizeResult:
    accepted: int = 0
    by_split: dict[str, int] = field(default_factory=dict)
    duplicates_removed: int = 0
    letters: dict[str, dict[str, int]] = field(default_factory=dict)
    correct_is_longest_rate: float | None = None
    shards: list[str] = field(default_factory=list)


def finalize(journal: Journal, paths: RunPaths, shard_rows: int) -> FinalizeResult:
    journal.commit()
    stamped = finalized_result(journal, paths, shard_rows)
    if stamped is not None:
        return stamped
    journal.prepare_finalize()
    result = FinalizeResult()
    duplicates = list(_find_duplicates(journal))
    journal.mark_duplicates(duplicates)
    result.duplicates_removed = len(duplicates)
    _write_final(journal, paths, shard_rows, result)
    _write_set_aside(journal, paths, shard_rows)
    stamp = {**_stamp_inputs(journal, shard_rows), "result": dataclasses.asdict(result)}
    journal.set_meta(STAMP_KEY, json.dumps(stamp))
    return result


def finalized_result(journal: Journal, paths: RunPaths, shard_rows: int) -> FinalizeResult | None:
    """The last finalize's result, if its records, settings and output are all unchanged."""
    saved = journal.get_meta(STAMP_KEY)
    if saved is None:
        return None
    stamp = json.loads(saved)
    if any(stamp.get(k) != v for k, v in _stamp_inputs(journal, shard_rows).items()):
        return None
    known = {f.name for f in dataclasses.fields(FinalizeResult)}
    result = FinalizeResult(**{k: v for k, v in stamp["result"].items() if k in known})
    outputs = [paths.data, paths.rejected, paths.quarantine]
    if not all(folder.is_dir() for folder in outputs):
        return None
    if not all((paths.root / shard).is_file() for shard in result.shards):
        return None
    return result


def _stamp_inputs(journal: Journal, shard_rows: int) -> dict[str, object]:
    return {
        "format": FINALIZE_FORMAT,
        "version": __version__,
        "records_version": journal.records_version,
        "shard_rows": shard_rows,
    }


def _find_duplicates(journal: Journal) -> Iterator[tuple[str, str, str]]:
    """(record id, reason, message) of duplicates. Questions compete only within a clip: one
    clip in memory at a time."""
    rows = journal.iter_questions_by_clip()
    for _, clip_rows in itertools.groupby(rows, key=operator.itemgetter(1)):
        clip = list(clip_rows)
        verdicts = clip_duplicates([question for _, _, question in clip])
        for (record_id, _, _), reason in zip(clip, verdicts, strict=True):
            if reason:
                yield record_id, reason, DUPLICATE_REASONS[reason]


def _write_final(
    journal: Journal, paths: RunPaths, shard_rows: int, result: FinalizeResult
) -> None:
    dealt: Counter[str] = Counter()
    longest = 0
    with (
        staged_folder(paths.data) as staging,
        SplitShardWriter(staging, QA_SCHEMA, shard_rows) as writer,
    ):
        for split, table in _tables(journal.iter_final(), QA_SCHEMA):
            table, n_longest = _place_answers(table, dealt, split)
            longest += n_longest
            writer.write(split, table)
            result.by_split[split] = result.by_split.get(split, 0) + table.num_rows
    result.accepted = sum(result.by_split.values())
    result.shards = sorted(f"data/{p.name}" for p in paths.data.glob("*.parquet"))
    mcqs = sum(dealt.values())
    result.correct_is_longest_rate = longest / mcqs if mcqs else None
    result.letters = letter_counts(dealt)


def _place_answers(table: pa.Table, dealt: Counter[str], split: str) -> tuple[pa.Table, int]:
    """Deal letters to the batch's MCQs and move each answer to its letter's slot."""
    is_mcq = pc.equal(table["task"], "mcq").to_numpy(zero_copy_only=False)
    count = int(is_mcq.sum())
    if not count:
        return table, 0
    letter = dealt_letters(dealt[split], count)
    dealt[split] += count
    options = table["options"].combine_chunks()
    offsets = options.offsets.to_numpy()
    starts = offsets[:-1][is_mcq]
    slots = starts[:, None] + np.arange(len(LETTERS))
    gather = np.arange(len(options.values))
    gather[slots] = starts[:, None] + np.asarray(PLACE)[letter]
    values = options.values.take(pa.array(gather))
    placed = pa.ListArray.from_arrays(options.offsets, values)
    letters = np.full(table.num_rows, None, dtype=object)
    letters[is_mcq] = np.array(list(LETTERS))[letter]
    # As balance.correct_is_longest counts them: stripped. Stored order: answer first.
    lengths = pc.utf8_length(pc.utf8_trim_whitespace(options.values)).to_numpy()[slots]
    longest = int((lengths[:, 0] > lengths[:, 1:].max(axis=1)).sum())
    table = table.set_column(table.schema.get_field_index("options"), "options", placed)
    column = table.schema.get_field_index("answer_letter")
    table = table.set_column(column, "answer_letter", pa.array(letters, type=pa.string()))
    return table, longest


def _write_set_aside(journal: Journal, paths: RunPaths, shard_rows: int) -> None:
    folders = {"rejected": paths.rejected, "quarantined": paths.quarantine}
    with contextlib.ExitStack() as stack:
        writers = {
            status: stack.enter_context(
                SplitShardWriter(
                    stack.enter_context(staged_folder(folder)), SET_ASIDE_SCHEMA, shard_rows
                )
            )
            for status, folder in folders.items()
        }
        for status, table in _tables(journal.iter_set_aside(), SET_ASIDE_SCHEMA):
            writers[status].write(status, table)


def _tables(rows: Iterable[tuple[str, bytes]], schema: pa.Schema) -> Iterator[tuple[str, pa.Table]]:
    """Parse consecutive JSON rows of one key into Arrow tables of at most BATCH_ROWS rows."""
    key, batch = None, []
    for row_key, row in rows:
        if batch and (row_key != key or len(batch) >= BATCH_ROWS):
            yield key, _parse(batch, schema)
            batch = []
        key = row_key
        batch.append(row)
    if batch:
        yield key, _parse(batch, schema)


def _parse(lines: list[bytes], schema: pa.Schema) -> pa.Table:
    data = b"\n".join(lines)
    return pajson.read_json(
        io.BytesIO(data),
        read_options=pajson.ReadOptions(block_size=len(data) + 1, use_threads=True),
        parse_options=pajson.ParseOptions(explicit_schema=schema),
    )
