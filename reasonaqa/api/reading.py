"""``read_run``: a finished run's (or build's) rows as pandas DataFrames, with its counts.

Shipped rows come from ``data/``; rejected and quarantined rows from ``_rejected/`` and
``_quarantine/``, with their ``reason``, ``message`` and ``judge_reply``. A folder without
set-aside rows (a clean run; a build, whose synthetic parts keep theirs in their own run
folders under ``_synthetic/``) gives empty frames with the same columns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from reasonaqa.engine.counts import RunCounts
from reasonaqa.errors import InputError
from reasonaqa.storage.arrow import QA_SCHEMA, SET_ASIDE_SCHEMA
from reasonaqa.storage.layout import RunPaths
from reasonaqa.storage.shards import shard_paths


@dataclass(frozen=True)
class RunData:
    """What a run folder holds: its rows by fate, and its numbers from ``_run.json``."""

    path: Path
    accepted: pd.DataFrame  # the shipped rows under data/
    rejected: pd.DataFrame  # failed a quality check, or removed as duplicates
    quarantined: pd.DataFrame  # no valid item could be had
    counts: RunCounts | None  # None when the folder has no _run.json yet


def read_run(path: str | Path) -> RunData:
    """Load the run or build folder at ``path``."""
    paths = RunPaths(Path(path))
    if not paths.root.is_dir():
        raise InputError("run folder does not exist", file=paths.root)
    return RunData(
        path=paths.root,
        accepted=_frame(paths.data, QA_SCHEMA),
        rejected=_frame(paths.rejected, SET_ASIDE_SCHEMA),
        quarantined=_frame(paths.quarantine, SET_ASIDE_SCHEMA),
        counts=_counts(paths.run_manifest),
    )


def _frame(folder: Path, schema: pa.Schema) -> pd.DataFrame:
    """The folder's shards in one frame, in ``schema``'s columns."""
    files = shard_paths(folder) if folder.is_dir() else []
    tables = [_aligned(pq.read_table(file), schema) for file in files]
    return pa.concat_tables(tables or [schema.empty_table()]).to_pandas()


def _aligned(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Shards written before a column existed (``message``, say) get it as nulls."""
    columns = [
        table[field.name] if field.name in table.column_names else pa.nulls(len(table), field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _counts(path: Path) -> RunCounts | None:
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"not valid JSON: {err}", file=path) from err
    return RunCounts.from_json(info.get("counts") if isinstance(info, dict) else None, path)
