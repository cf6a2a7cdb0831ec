"""Parquet shards of QA rows: ``<split>-00000.parquet``, ``-00001``..., streamed both ways.

Writing keeps one open Parquet file per split and rolls to the next at ``shard_rows`` rows,
so memory stays at one batch however large a split grows. Writers write into a staging
folder that ``publish.staged_folder`` swaps in whole. Reading groups a folder's committed
shards by split.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from reasonaqa.config import DEFAULT_SHARD_ROWS
from reasonaqa.errors import InputError, naming
from reasonaqa.storage.arrow import QA_SCHEMA

SHARD_NAME = re.compile(r"^(?P<split>.+)-(?P<index>\d{5})\.parquet$")


def rows_to_table(rows: list[Mapping[str, Any]], schema: pa.Schema = QA_SCHEMA) -> pa.Table:
    """Column-major conversion: far faster than ``Table.from_pylist`` on wide rows."""
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.table(columns, schema=schema)


class SplitShardWriter:
    """Streams tables into per-split shard files of at most ``shard_rows`` rows."""

    def __init__(
        self, directory: Path, schema: pa.Schema, shard_rows: int = DEFAULT_SHARD_ROWS
    ) -> None:
        self.directory = Path(directory)
        self.schema = schema
        self.shard_rows = shard_rows
        self.rows: dict[str, int] = {}
        self._open: dict[str, tuple[pq.ParquetWriter, int]] = {}
        self._paths: dict[str, Path] = {}  # the open shard of each split, to name in errors
        self._next_index: dict[str, int] = {}
        self.directory.mkdir(parents=True, exist_ok=True)

    def write(self, split: str, table: pa.Table) -> None:
        table = table.select(self.schema.names).cast(self.schema)
        start = 0
        while start < table.num_rows:
            writer, held = self._writer(split)
            take = min(self.shard_rows - held, table.num_rows - start)
            with naming(self._paths[split]):
                writer.write_table(table.slice(start, take))
            self._open[split] = (writer, held + take)
            self.rows[split] = self.rows.get(split, 0) + take
            start += take
            if held + take >= self.shard_rows:
                self._close(split)

    def close(self) -> dict[str, int]:
        """Close every open shard, even after one fails; returns rows written per split."""
        failures: list[OSError] = []
        for split in list(self._open):
            try:
                self._close(split)
            except OSError as err:  # a full disk: close the others, then report the first
                failures.append(err)
        if failures:
            raise failures[0]
        return dict(self.rows)

    def _writer(self, split: str) -> tuple[pq.ParquetWriter, int]:
        if split not in self._open:
            index = self._next_index.get(split, 0)
            self._next_index[split] = index + 1
            path = self.directory / f"{split}-{index:05d}.parquet"
            self._paths[split] = path
            with naming(path):
                self._open[split] = (pq.ParquetWriter(path, self.schema, compression="zstd"), 0)
        return self._open[split]

    def _close(self, split: str) -> None:
        writer, _ = self._open.pop(split)
        try:
            with naming(self._paths[split]):
                writer.close()
        finally:
            # A close that failed must not be retried by the writer's __del__, which would
            # print a traceback at exit after our one-line error.
            writer.is_open = False

    def __enter__(self) -> SplitShardWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def shard_paths(directory: Path, pattern: str = "*.parquet") -> list[Path]:
    """Committed shards under ``directory``, skipping hidden temp files, in name order."""
    return sorted(p for p in Path(directory).glob(pattern) if not p.name.startswith((".", "_")))


def iter_batches(
    paths: Iterable[Path], columns: list[str] | None = None, batch_size: int = 65_536
) -> Iterator[pa.RecordBatch]:
    """Stream record batches from shards in bounded memory."""
    for path in paths:
        yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size, columns=columns)


def shards_by_split(directory: Path) -> dict[str, list[Path]]:
    """The committed shards of a run's ``data/`` folder, grouped by split, in index order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError("no data/ folder: not a finished run", file=directory)
    splits: dict[str, list[Path]] = {}
    for path in shard_paths(directory):
        match = SHARD_NAME.match(path.name)
        if match is None:
            raise InputError("shard name is not <split>-NNNNN.parquet", file=path)
        splits.setdefault(match["split"], []).append(path)
    return splits
