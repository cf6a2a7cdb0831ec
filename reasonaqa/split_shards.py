"""Parquet shards grouped by split: ``<split>-00000.parquet``, ``-00001``... streamed both ways.

Writing keeps one open Parquet file per split and rolls to the next once it holds
``shard_rows`` rows, so memory stays at one batch however large the split grows. Callers
write into a staging folder and publish it whole (see ``publish_folder``).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from reasonaqa.errors import InputError
from reasonaqa.shards import DEFAULT_SHARD_ROWS, shard_paths

SHARD_NAME = re.compile(r"^(?P<split>.+)-(?P<index>\d{5})\.parquet$")


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
        self._next_index: dict[str, int] = {}
        self.directory.mkdir(parents=True, exist_ok=True)

    def write(self, split: str, table: pa.Table) -> None:
        table = table.select(self.schema.names).cast(self.schema)
        start = 0
        while start < table.num_rows:
            writer, held = self._writer(split)
            take = min(self.shard_rows - held, table.num_rows - start)
            writer.write_table(table.slice(start, take))
            self._open[split] = (writer, held + take)
            self.rows[split] = self.rows.get(split, 0) + take
            start += take
            if held + take >= self.shard_rows:
                self._close(split)

    def close(self) -> dict[str, int]:
        """Close every open shard; returns rows written per split."""
        for split in list(self._open):
            self._close(split)
        return dict(self.rows)

    def _writer(self, split: str) -> tuple[pq.ParquetWriter, int]:
        if split not in self._open:
            index = self._next_index.get(split, 0)
            self._next_index[split] = index + 1
            path = self.directory / f"{split}-{index:05d}.parquet"
            self._open[split] = (pq.ParquetWriter(path, self.schema, compression="zstd"), 0)
        return self._open[split]

    def _close(self, split: str) -> None:
        writer, _ = self._open.pop(split)
        writer.close()

    def __enter__(self) -> SplitShardWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


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


def publish_folder(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` with renames, so readers never see a mix of both."""
    target = Path(target)
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)
