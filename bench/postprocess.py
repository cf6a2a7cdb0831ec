"""Benchmark: merge, split-check and export 1,000,000 synthetic QA rows.

    .venv/bin/python bench/postprocess.py [--rows 1000000] [--work DIR]

Rows are made with vectorised Arrow (no LLM) and written as a generation run's shards;
the timed part is what ``reasonaqa build`` and ``reasonaqa export`` do after generation.
Targets on the 2-core dev machine: under 60 s and under 2 GB peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from reasonaqa.dataset.merge import PartStream, merge_parts, tables_from_shards
from reasonaqa.dataset.splits import Decontamination, SplitGuard
from reasonaqa.export.hf import export_hf
from reasonaqa.export.mellow import export_mellow
from reasonaqa.schemas import LETTERS
from reasonaqa.storage.arrow import QA_SCHEMA

ROWS_PER_CLIP = 25
SHARD_ROWS = 50_000
SPLITS = np.array(["train"] * 8 + ["val", "test"])


def _text(prefix: str, numbers: np.ndarray, suffix: str = "") -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(numbers), pa.string()), suffix, "")


def _lists(values: pa.Array, lengths: np.ndarray) -> pa.Array:
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def synthetic_table(start: int, count: int) -> pa.Table:
    """``count`` rows: half MCQ (letters balanced), half detail, 25 rows per clip."""
    idx = np.arange(start, start + count)
    clip = idx // ROWS_PER_CLIP
    is_mcq = idx % 2 == 0
    letter = (idx // 2) % 4
    clotho = clip % 3 == 0
    option_values = pc.binary_join_element_wise(
        _text("option ", np.repeat(idx, 4)), pa.array(np.tile(list("ABCD"), count)), " "
    )
    options = _lists(option_values, np.full(count, 4))
    mcq_answer = pc.binary_join_element_wise(
        _text("option ", idx), pa.array(np.array(list("ABCD"))[letter]), " "
    )
    no_items = np.zeros(count, dtype=np.int64)
    caption = _text("A sound of thing number ", clip, " with birds and rain")
    columns = {
        "record_id": _text("bench-", idx),
        "origin": pa.array(np.full(count, "synthetic")),
        "source": pc.binary_join_element_wise(
            pa.array(np.where(clotho, "Clotho", "AudioCaps")),
            pa.array(np.where(is_mcq, "MCQ", "Detail")),
            "-",
        ),
        "dataset": pa.array(np.where(clotho, "clotho", "audiocaps")),
        "split": pa.array(SPLITS[clip % len(SPLITS)]),
        "clip_id": _text("clip", clip),
        "audio_path": _text("Yclip", clip, ".wav"),
        "captions": _lists(caption, np.ones(count, dtype=np.int64)),
        "task": pa.array(np.where(is_mcq, "mcq", "detail")),
        "question": _text("What can be heard in recording ", idx, "?"),
        "answer": pc.if_else(pa.array(is_mcq), mcq_answer, _text("A detailed answer ", idx)),
        "options": pc.if_else(
            pa.array(is_mcq), options, _lists(pa.array([], pa.string()), no_items)
        ),
        "answer_letter": pc.if_else(
            pa.array(is_mcq), pa.array(np.array(list(LETTERS))[letter]), None
        ),
        "caption_index": pa.array(np.zeros(count, dtype=np.int64)),
    }
    for name in QA_SCHEMA.names:
        if name not in columns:
            field = QA_SCHEMA.field(name)
            empty = pa.array([[]] * count, field.type) if pa.types.is_list(field.type) else None
            columns[name] = empty if empty is not None else pa.nulls(count, field.type)
    return pa.table(columns).select(QA_SCHEMA.names).cast(QA_SCHEMA)


def write_run(data: Path, rows: int) -> None:
    """Shards as a generation run writes them: ``<split>-NNNNN.parquet``."""
    data.mkdir(parents=True)
    for index, start in enumerate(range(0, rows, SHARD_ROWS)):
        table = synthetic_table(start, min(SHARD_ROWS, rows - start))
        for split in ("train", "val", "test"):
            part = table.filter(pc.equal(table["split"], split))
            if part.num_rows:
                pq.write_table(part, data / f"{split}-{index:05d}.parquet", compression="zstd")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: temp)")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="reasonaqa-bench-"))
    try:
        started = time.perf_counter()
        synthetic = work / "_synthetic" / "bench" / "data"
        write_run(synthetic, args.rows)
        print(f"made {args.rows:,} rows in {time.perf_counter() - started:.1f} s (not timed below)")
        rss_before = peak_rss_mb()
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        decontamination = Decontamination({f"clip{n}" for n in range(0, 4000, 40)})
        stats = merge_parts(
            [PartStream("bench", lambda: tables_from_shards(synthetic))],
            work / "build",
            guard=SplitGuard(),
            decontamination=decontamination,
            shard_rows=SHARD_ROWS,
        )
        timings["merge + split check"] = time.perf_counter() - clock
        clock = time.perf_counter()
        mellow = export_mellow(work / "build", work / "mellow", overwrite=True)
        timings["export mellow"] = time.perf_counter() - clock
        clock = time.perf_counter()
        export_hf(work / "build", work / "hf", overwrite=True)
        timings["export hf"] = time.perf_counter() - clock
        total = sum(timings.values())
        print(
            f"clips {stats.clips:,}; removed by decontamination {stats.removed:,}; mellow {mellow}"
        )
        for name, seconds in timings.items():
            print(f"{name:<22} {seconds:6.1f} s")
        print(f"{'total':<22} {total:6.1f} s")
        print(f"peak RSS {peak_rss_mb():.0f} MB (after making the rows: {rss_before:.0f} MB)")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
