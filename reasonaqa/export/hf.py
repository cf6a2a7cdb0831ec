"""A Hugging Face ``datasets`` folder: ``data/<split>-NNNNN.parquet``, MMAU-style columns.

Splits are named as ``datasets`` names them, ``train``, ``validation`` and ``test``, in the
file names and in the card's configs alike, so ``datasets.load_dataset("parquet",
data_dir=DIR)`` and ``load_dataset(DIR)`` (which reads the card) agree. MCQs have ``choices``
and ``answer`` as the option text, as in MMAU, so the letter never stands in for the answer.
The run's dataset card is rendered for this folder as ``README.md``: its columns, its paths,
a snippet that runs here, and its plots copied to ``plots/`` where its links point.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa

from reasonaqa.card.plots import write_plots
from reasonaqa.card.report import HF_SPLIT_NAMES, PLOT_TITLES, CardTarget, render_card
from reasonaqa.card.stats import compute_stats
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
PLOTS = "plots"  # beside README.md, where the card's image links point


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
                name = HF_SPLIT_NAMES.get(split, split)
                for batch in iter_batches(files, columns=list(COLUMNS)):
                    table = pa.Table.from_batches([batch]).select(list(COLUMNS))
                    writer.write(name, table.rename_columns(list(COLUMNS.values())))
        if paths.run_manifest.is_file():
            _write_card(paths, staging)
    return dict(writer.rows)


def _write_card(run: RunPaths, folder: Path) -> None:
    """The card for this folder, with the run's plots copied (or drawn) into ``plots/``."""
    stats = compute_stats(run.root)
    plots_dir = folder / PLOTS
    if run.plots.is_dir() and any(run.plots.glob("*.png")):
        plots_dir.mkdir()
        drawn = {}
        for name in PLOT_TITLES:
            if (run.plots / f"{name}.png").is_file():
                drawn[name] = Path(shutil.copy2(run.plots / f"{name}.png", plots_dir))
    else:
        drawn = write_plots(stats, plots_dir)
    links = {name: path.relative_to(folder).as_posix() for name, path in drawn.items()}
    target = CardTarget(columns=dict(COLUMNS), file_splits=dict(HF_SPLIT_NAMES), export=True)
    (folder / "README.md").write_text(render_card(stats, links, target), encoding="utf-8")
