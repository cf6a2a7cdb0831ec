"""Speed and memory of the quality controls at ReasonAQA scale.

Run: .venv/bin/python bench/bench_quality.py [--rows 500000]

- checks: ``check_mcq`` + ``check_detail`` items per second.
- dedup: ``clip_duplicates`` questions per second, clips of 30 questions (5 captions x 3
  samples x 2 tasks) with some rewordings among them.
- stats: ``compute_stats`` + ``write_report`` on a sample run of ``--rows`` MCQ rows (plus
  detailed and captioning rows), wall time and peak RSS of a fresh process.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reasonaqa.quality.checks import check_detail, check_mcq
from reasonaqa.quality.dedup import clip_duplicates
from reasonaqa.schemas import DetailItem, McqItem
from reasonaqa.testing.sample_run import SOUNDS, write_sample_run

CAPTIONS = ["A dog barks repeatedly while cars pass by", "Cars drive past as a dog barks"]


def bench_checks(n: int = 20_000) -> float:
    rng = random.Random(0)
    mcqs = []
    for i in range(n):
        options = rng.sample(SOUNDS, 4)
        mcqs.append(
            McqItem(
                question=f"Which sound is heard around second {i} of the clip?",  # unique
                options=options,
                answer=options[0],
                focus="sound_events",
            )
        )
    details = [
        DetailItem(
            question="What is happening in the recording and where?",
            answer=f"{SOUNDS[i % 8].capitalize()} suggests a street {i}.",
            focus="scene",
        )
        for i in range(n)
    ]
    start = time.perf_counter()
    for mcq, detail in zip(mcqs, details, strict=True):
        check_mcq(mcq, CAPTIONS)
        check_detail(detail, CAPTIONS)
    return 2 * n / (time.perf_counter() - start)


def bench_dedup(n: int, per_clip: int = 30) -> tuple[float, int]:
    """Questions per second, and how many were found to be duplicates."""
    rng = random.Random(1)
    vocab = [f"word{k}" for k in range(300)]
    clips = []
    for _ in range(n // per_clip):
        clip = [" ".join(rng.choices(vocab, k=rng.randint(6, 14))) + "?" for _ in range(per_clip)]
        clip[-3:] = [q.replace("?", " now?") for q in clip[:3]]  # rewordings of the first three
        clips.append(clip)
    start = time.perf_counter()
    found = sum(v is not None for clip in clips for v in clip_duplicates(clip))
    return len(clips) * per_clip / (time.perf_counter() - start), found


STATS_CHILD = """
import json, resource, sys, time
from reasonaqa.card.report import compute_stats, write_report
start = time.perf_counter()
stats = compute_stats(sys.argv[1])
computed = time.perf_counter() - start
write_report(sys.argv[1], stats)
total = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps([stats["rows"], computed, total, peak]))
"""


def bench_stats(rows: int) -> list[float]:
    """Rows, compute seconds, seconds with card and plots, peak MiB: in a fresh process."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "run"
        write_sample_run(
            root, {"train": (rows * 9 // 10, rows * 9 // 10), "test": (rows // 10, rows // 10)}
        )
        out = subprocess.run(
            [sys.executable, "-c", STATS_CHILD, str(root)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=500_000, help="MCQ rows of the stats run")
    parser.add_argument("--dedup", type=int, default=200_000, help="questions fed to dedup")
    args = parser.parse_args()
    print(f"checks: {bench_checks():,.0f} items/s")
    rate, found = bench_dedup(args.dedup)
    print(f"dedup: {rate:,.0f} questions/s ({found:,} duplicates found)")
    rows, computed, total, peak_mib = bench_stats(args.rows)
    print(
        f"stats: {rows:,.0f} rows, compute_stats {computed:.1f} s, with card and plots "
        f"{total:.1f} s, peak RSS {peak_mib:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
