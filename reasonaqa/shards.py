"""Parquet shards of QA rows: bounded size, written atomically, read back as one table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from reasonaqa.atomic import atomic_path
from reasonaqa.schemas import QA_SCHEMA

DEFAULT_SHARD_ROWS = 50_000


def rows_to_table(rows: list[Mapping[str, Any]], schema: pa.Schema = QA_SCHEMA) -> pa.Table:
    """Column-major conversion: far faster than ``Table.from_pylist`` on wide rows."""
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.table(columns, schema=schema)


def write_table(table: pa.Table, path: Path) -> None:
    """Write one whole shard, or nothing."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


class ShardWriter:
    """Buffers rows and writes ``<prefix>-00000.parquet``, ``-00001``... of at most ``max_rows``.

    Each shard is committed by rename, so a crash leaves whole shards only.
    """

    def __init__(
        self,
        directory: Path,
        prefix: str,
        max_rows: int = DEFAULT_SHARD_ROWS,
        schema: pa.Schema = QA_SCHEMA,
        start_index: int = 0,
    ) -> None:
        self.directory = Path(directory)
        self.prefix = prefix
        self.max_rows = max_rows
        self.schema = schema
        self.index = start_index
        self.rows_written = 0
        self.paths: list[Path] = []
        self._buffer: list[Mapping[str, Any]] = []

    def write(self, row: Mapping[str, Any]) -> None:
        self._buffer.append(row)
        if len(self._buffer) >= self.max_rows:
            self.flush()

    def write_many(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.write(row)

    def write_table(self, table: pa.Table) -> None:
        """Append an Arrow table, splitting it across shards as needed."""
        self.flush()
        for start in range(0, table.num_rows, self.max_rows):
            self._commit(table.slice(start, self.max_rows))

    def flush(self) -> Path | None:
        if not self._buffer:
            return None
        table = rows_to_table(self._buffer, self.schema)
        self._buffer = []
        return self._commit(table)

    def _commit(self, table: pa.Table) -> Path:
        path = self.directory / f"{self.prefix}-{self.index:05d}.parquet"
        write_table(table.cast(self.schema), path)
        self.index += 1
        self.rows_written += table.num_rows
        self.paths.append(path)
        return path

    def close(self) -> list[Path]:
        self.flush()
        return self.paths

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
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
