"""Rows of one shard prefix, a row at a time: for tests and tools that build rows in Python.

Shards land directly in ``directory``; write into a ``storage.publish.staged_folder`` when
readers may look. The pipeline itself writes Arrow tables with ``SplitShardWriter``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from reasonaqa.config import DEFAULT_SHARD_ROWS
from reasonaqa.storage.arrow import QA_SCHEMA
from reasonaqa.storage.shards import SplitShardWriter, rows_to_table, shard_paths


class ShardWriter:
    """Rows of one prefix, a row at a time, buffered into tables for a ``SplitShardWriter``."""

    def __init__(
        self,
        directory: Path,
        prefix: str,
        max_rows: int = DEFAULT_SHARD_ROWS,
        schema: pa.Schema = QA_SCHEMA,
        batch_rows: int = 4096,
    ) -> None:
        self.prefix = prefix
        self.schema = schema
        self.batch_rows = batch_rows
        self._out = SplitShardWriter(directory, schema, max_rows)
        self._buffer: list[Mapping[str, Any]] = []

    @property
    def rows_written(self) -> int:
        return self._out.rows.get(self.prefix, 0) + len(self._buffer)

    def write(self, row: Mapping[str, Any]) -> None:
        self._buffer.append(row)
        if len(self._buffer) >= self.batch_rows:
            self._flush()

    def write_many(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.write(row)

    def _flush(self) -> None:
        if self._buffer:
            self._out.write(self.prefix, rows_to_table(self._buffer, self.schema))
            self._buffer = []

    def close(self) -> list[Path]:
        self._flush()
        self._out.close()
        return shard_paths(self._out.directory, f"{self.prefix}-*.parquet")

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.close()
