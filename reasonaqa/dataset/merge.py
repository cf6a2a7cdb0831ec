"""Merging QA parts into final split shards: streamed, split-normalised, leak-checked.

Each part is a lazy stream of Arrow tables in ``QA_SCHEMA``. Rows take their output split
from the part (file sources) or from their own ``split`` column mapped through the source
split aliases (manifest sources). Everything is written into a staging folder and published
as ``data/`` only once the split check passes, so a failed build leaves the old data intact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from reasonaqa.dataset.splits import KEY_COLUMNS, Decontamination, SplitGuard
from reasonaqa.errors import InputError
from reasonaqa.sources.identity import SPLIT_NAMES, output_split
from reasonaqa.storage.arrow import QA_SCHEMA
from reasonaqa.storage.batches import batched
from reasonaqa.storage.layout import RunPaths
from reasonaqa.storage.publish import staged_folder
from reasonaqa.storage.shards import (
    DEFAULT_SHARD_ROWS,
    SplitShardWriter,
    iter_batches,
    rows_to_table,
    shard_paths,
)

IMPORT_BATCH_ROWS = 8192
# QA rows plus the clip identity keys a build resolved (``splits.KEY_COLUMNS``): the guard
# reads them, the shard writer leaves them out.
KEYED_SCHEMA = QA_SCHEMA.append(pa.field(KEY_COLUMNS[0], pa.string())).append(
    pa.field(KEY_COLUMNS[1], pa.string())
)


@dataclass(frozen=True)
class PartStream:
    """One recipe part: its name for messages, its rows, and its split if the part sets it."""

    name: str
    tables: Callable[[], Iterator[pa.Table]]
    split: str | None = None


@dataclass
class MergeStats:
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> source -> rows
    parts: dict[str, int] = field(default_factory=dict)  # part name -> rows
    removed: int = 0
    clips: int = 0
    missing_audio: int = 0

    def add(self, table: pa.Table, part: str) -> None:
        self.parts[part] = self.parts.get(part, 0) + table.num_rows
        counts = table.group_by(["split", "source"]).aggregate([("record_id", "count")])
        names = ["split", "source", "record_id_count"]
        for split, source, count in zip(*(counts[n].to_pylist() for n in names), strict=True):
            by_source = self.rows.setdefault(split, {})
            by_source[source] = by_source.get(source, 0) + count


def tables_from_rows(
    rows: Iterable[Mapping[str, Any]],
    batch_rows: int = IMPORT_BATCH_ROWS,
    schema: pa.Schema = QA_SCHEMA,
) -> Iterator[pa.Table]:
    """Row dicts from an importer, as tables of ``schema`` (QA) of ``batch_rows`` rows."""
    for chunk in batched(rows, batch_rows):
        yield rows_to_table(chunk, schema)


def tables_from_shards(data_dir: Path) -> Iterator[pa.Table]:
    """The rows of a generation run's ``data/`` shards, batch by batch."""
    for batch in iter_batches(shard_paths(data_dir)):
        yield pa.Table.from_batches([batch]).select(QA_SCHEMA.names).cast(QA_SCHEMA)


def merge_parts(
    parts: Iterable[PartStream],
    root: Path,
    *,
    guard: SplitGuard,
    decontamination: Decontamination | None = None,
    shard_rows: int = DEFAULT_SHARD_ROWS,
) -> MergeStats:
    """Write every part into ``root/data/<split>-NNNNN.parquet``; fail on any split leak.

    Batches may carry the identity key columns (``KEYED_SCHEMA``); they are checked, not
    written.
    """
    paths = RunPaths(Path(root))
    stats = MergeStats()
    with staged_folder(paths.data) as staging:
        with SplitShardWriter(staging, QA_SCHEMA, shard_rows) as writer:
            for part in parts:
                for table in part.tables():
                    table = _with_output_split(table, part)
                    if decontamination is not None:
                        table = decontamination.apply(table)
                    guard.observe(table, part.name)
                    stats.add(table, part.name)
                    for split in SPLIT_NAMES:
                        rows = table.filter(pc.equal(table["split"], split))
                        if rows.num_rows:
                            writer.write(split, rows)
        guard.check()
    stats.removed = decontamination.removed if decontamination is not None else 0
    stats.clips = guard.clip_count
    stats.missing_audio = guard.missing_audio
    return stats


def _with_output_split(table: pa.Table, part: PartStream) -> pa.Table:
    """Set each row's split to train, val or test; unknown source split names are errors."""
    index = table.schema.get_field_index("split")
    if part.split is not None:
        return table.set_column(
            index, "split", pa.array([part.split] * table.num_rows, pa.string())
        )
    column = table["split"]
    for value in pc.unique(column).to_pylist():
        mapped = output_split(value) if value is not None else None
        if mapped is None:
            raise InputError(
                f"part {part.name!r}: split {value!r} is neither train/val/test nor a source"
                " split that maps onto them (development, validation, evaluation...)",
                field="split",
            )
        if mapped != value:
            column = pc.if_else(pc.equal(column, value), mapped, column)
    return table.set_column(index, "split", column)
