"""A Hugging Face ``datasets`` folder: ``data/<split>-NNNNN.parquet``, MMAU-style columns.

``datasets.load_dataset("parquet", data_dir=DIR)`` finds the splits from the file names
(``val`` becomes ``validation``). MCQs have ``choices`` and ``answer`` as the option text,
as in MMAU, so the letter never stands in for the answer. The run's dataset card, when it
has one, becomes ``README.md`` with its plots under ``_card/plots`` where its links point.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa

from reasonaqa.storage.arrow import QA_SCHEMA
from reasonaqa.storage.layout import RunPaths
from reasonaqa.storage.ownership import check_export_target, write_marker
from reasonaqa.storage.publish import staged_folder
from reasonaqa.storage.shards import (
    DEFAULT_SHARD_ROWS,
    SplitShardWriter,
    iter_batches,
    shards_by_split,
)

# QA columns kept, with their names in the export; provenance of the LLM call stays behind.
COLUMNS = {
    "record_id": "id",
    "question": "question",
    "options": "choices",
    "answer": "answer",
    "answer_letter": "answer_letter",
    "task": "task",
    "source": "source",
    "origin": "origin",
    "focus": "focus",
    "dataset": "dataset",
    "clip_id": "clip_id",
    "audio_path": "audio_path",
    "captions": "captions",
    "clip_id_2": "clip_id_2",
    "audio_path_2": "audio_path_2",
    "captions_2": "captions_2",
    "agreement": "agreement",
    "audio_contribution": "audio_contribution",
}
HF_SCHEMA = pa.schema([QA_SCHEMA.field(name).with_name(new) for name, new in COLUMNS.items()])


def export_hf(
    run: Path, out: Path, shard_rows: int = DEFAULT_SHARD_ROWS, overwrite: bool = False
) -> dict[str, int]:
    """Write the HF folder at ``out``, replacing an earlier export there only with
    ``overwrite`` (see ``storage.ownership``); returns rows per split."""
    out = Path(out)
    check_export_target(run, out, "export-hf", overwrite)
    paths = RunPaths(Path(run))
    shards = shards_by_split(paths.data)
    with staged_folder(out) as staging:
        write_marker(staging, "export-hf")
        with SplitShardWriter(staging / "data", HF_SCHEMA, shard_rows) as writer:
            for split, files in sorted(shards.items()):
                for batch in iter_batches(files, columns=list(COLUMNS)):
                    table = pa.Table.from_batches([batch]).select(list(COLUMNS))
                    writer.write(split, table.rename_columns(list(COLUMNS.values())))
        _copy_card(paths, staging)
    return dict(writer.rows)


def _copy_card(run: RunPaths, folder: Path) -> None:
    if run.card.is_file():
        shutil.copyfile(run.card, folder / "README.md")
    if run.plots.is_dir():
        shutil.copytree(run.plots, folder / run.plots.relative_to(run.root))
