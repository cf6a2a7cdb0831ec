"""Time and peak memory of a manifest the size of AudioCaps train (49,838 one-caption clips).

Run: .venv/bin/python bench/bench_manifests.py
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

from reasonaqa.sources.manifests import build_manifest, read_manifest, write_manifest

ROWS = 49_838


def make_csv(path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("audiocap_id,youtube_id,start_time,caption\n")
        for n in range(ROWS):
            caption = f"A dog barks {n} times while a car, far away, passes slowly by a river"
            fh.write(f'{n},id{n:09d},30,"{caption}"\n')


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "train.csv"
        make_csv(csv_path)
        timings: dict[str, float] = {}
        start = time.perf_counter()
        clips = build_manifest("audiocaps", [csv_path], "train")
        timings["build"] = time.perf_counter() - start
        for suffix in (".jsonl", ".parquet"):
            out = Path(folder) / f"train{suffix}"
            start = time.perf_counter()
            write_manifest(clips, out)
            timings[f"write{suffix}"] = time.perf_counter() - start
            start = time.perf_counter()
            read = sum(1 for _ in read_manifest(out))
            timings[f"read{suffix}"] = time.perf_counter() - start
            assert read == ROWS
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for name, seconds in timings.items():
        print(f"{name:16s} {seconds:6.2f} s  ({ROWS / seconds:,.0f} clips/s)")
    print(f"peak RSS         {peak_mib:6.0f} MiB")


if __name__ == "__main__":
    main()
