"""Page latency of ``reasonaqa view`` over a 1,000,000-row run folder.

Run: .venv/bin/python bench/viewer_latency.py [--rows 1000000] [--repeat 5]

Writes synthetic rows (accepted shards of 50,000 rows plus rejected and quarantined files)
under a temporary folder, starts ``reasonaqa view`` as a subprocess, and times whole HTML
pages over HTTP: the first request of each kind (cold) and the median of the next
``--repeat``. Also prints the start-up time (until the URL is printed; includes the filter
menus' counts) and the server's peak RSS, and checks that a deep page holds the rows it
should (pages follow the files' row order).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from reasonaqa.schemas import FOCUS_AREAS
from reasonaqa.storage.arrow import QA_SCHEMA, SET_ASIDE_SCHEMA
from reasonaqa.storage.layout import RunPaths

REPO = Path(__file__).resolve().parents[1]
SHARD_ROWS = 50_000
SOUNDS = np.array(["a dog barking", "birds chirping", "rain on a roof", "a car engine idling"])
REASONS = np.array(["text_leak", "refusal", "ungrounded", "options_duplicate", "near_duplicate"])
# One question in RARE_EVERY mentions a harmonica: the text search has to scan for it.
RARE_EVERY = 1_000


def synthetic_table(start: int, n: int, split: str, schema: pa.Schema) -> pa.Table:
    """``n`` rows numbered from ``start``: MCQs and detailed questions on 8 sounds."""
    i = np.arange(start, start + n)
    task = np.where(i % 3 == 0, "detail", "mcq")
    sound = SOUNDS[i % len(SOUNDS)]
    rare = np.where(i % RARE_EVERY == 7, " and a harmonica", "")
    question = np.char.add(np.char.add(f"Q{split} #", i.astype(str)), rare)
    question = np.char.add(question, ": which sound is heard first, and what is its source?")
    choices = list(SOUNDS)
    options = pa.array([choices if t == "mcq" else [] for t in task], pa.list_(pa.string()))
    columns = {
        "record_id": pa.array(np.char.add("r", i.astype(str))),
        "origin": pa.array(["synthetic"] * n),
        "source": pa.array(np.where(i % 2 == 0, "AudioCaps-MCQ", "Clotho-MCQ")),
        "dataset": pa.array(np.where(i % 2 == 0, "audiocaps", "clotho")),
        "split": pa.array([split] * n),
        "clip_id": pa.array(np.char.add("clip", (i // 25).astype(str))),
        "audio_path": pa.array(np.char.add(np.char.add("clips/", (i // 25).astype(str)), ".wav")),
        "captions": pa.array([[f"{s} close by, then a door closes"] for s in sound]),
        "task": pa.array(task),
        "question": pa.array(question),
        "answer": pa.array(sound),
        "options": options,
        "answer_letter": pa.array(np.where(task == "mcq", np.array(list("abcd"))[i % 4], None)),
        "focus": pa.array(np.array(FOCUS_AREAS)[i % len(FOCUS_AREAS)]),
        "audio_contribution": pa.array(np.where(i % 5 == 0, "weak", "strong")),
    }
    if "reason" in schema.names:
        columns["reason"] = pa.array(REASONS[i % len(REASONS)])
    table = pa.table({name: columns.get(name, pa.nulls(n)) for name in schema.names})
    return table.cast(schema)


def write_folder(root: Path, rows: int) -> dict[str, int]:
    """90% accepted (train/val/test), 8% rejected, 2% quarantined; returns rows per status."""
    paths = RunPaths(root)
    sizes = {"accepted": rows * 90 // 100, "rejected": rows * 8 // 100}
    sizes["quarantined"] = rows - sizes["accepted"] - sizes["rejected"]
    folders = {"accepted": paths.data, "rejected": paths.rejected, "quarantined": paths.quarantine}
    start = 0
    for status, total in sizes.items():
        folders[status].mkdir(parents=True)
        schema = QA_SCHEMA if status == "accepted" else SET_ASIDE_SCHEMA
        for index, offset in enumerate(range(0, total, SHARD_ROWS)):
            n = min(SHARD_ROWS, total - offset)
            split = "train" if status != "accepted" else ("train", "val", "test")[index % 3]
            name = f"{split if status == 'accepted' else status}-{index:05d}.parquet"
            table = synthetic_table(start + offset, n, split, schema)
            pq.write_table(table, folders[status] / name, compression="zstd")
        start += total
    paths.run_manifest.write_text(json.dumps({"counts": sizes}))
    return sizes


def start_viewer(root: Path) -> tuple[subprocess.Popen[str], str, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "reasonaqa", "view", str(root)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": str(REPO)},
    )
    line = process.stdout.readline() if process.stdout else ""
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    if match is None:
        process.kill()
        raise SystemExit(f"viewer did not start: {line!r}")
    return process, match.group(0), time.perf_counter() - started


def fetch(url: str) -> tuple[float, str]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        body = response.read().decode()
    return time.perf_counter() - started, body


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="viewer-bench-") as folder:
        root = Path(folder) / "run"
        started = time.perf_counter()
        sizes = write_folder(root, args.rows)
        print(f"wrote {args.rows:,} rows {sizes} in {time.perf_counter() - started:.1f} s")
        process, url, startup = start_viewer(root)
        try:
            print(f"start-up (until the URL is printed): {startup:.2f} s")
            deep = sizes["accepted"] + 1_000  # 1,000 rows into the rejected ones
            pages = {
                "first page": "",
                "filtered page (task=mcq, status=rejected, focus=scene)": (
                    "?task=mcq&status=rejected&focus=scene"
                ),
                "text search (q=harmonica)": "?q=harmonica",
                "text search + filter (q=harmonica, split=val)": "?q=harmonica&split=val",
                f"deep page (row {deep:,})": f"?page={deep // 50 + 1}",
            }
            print(f"| page | cold | median of {args.repeat} |\n|---|---:|---:|")
            for label, query in pages.items():
                cold, body = fetch(url + query)
                warm = statistics.median(fetch(url + query)[0] for _ in range(args.repeat))
                print(f"| {label} | {1000 * cold:.0f} ms | {1000 * warm:.0f} ms |")
                if label.startswith("deep"):
                    first = re.search(r'data-record-id="r(\d+)"', body)
                    assert first is not None and int(first.group(1)) == deep - deep % 50, body
            print(f"server peak RSS: {peak_rss_mib(process.pid):.0f} MiB")
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
