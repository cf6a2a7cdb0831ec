"""A full ``reasonaqa build`` over every public source file in ../shared/data, then its rerun.

    .venv/bin/python bench/build_real.py [--data ../shared/data] [--work DIR] [--json out.json]

The recipe is ReasonAQA's composition restricted to the files present (the big training CSVs
are not: AudioCaps val/test, Clotho evaluation captions, Clotho and AudioCaps entailment,
ADIFF ACD val and CLD val): five MCQs and five detailed questions per caption, grounding and
three audio-dependence votes, every existing subset imported. Generation goes to the
fault-injecting server in ``instant`` mode (a real local OpenAI-compatible server that answers
at once with schema-valid content), 64 requests in flight.

Each build runs as a child process; the script prints requests (counted by the server), wall
time, the child's peak RSS, the journals' bytes per synthetic record, the disk the build uses,
and the same for a rerun of the finished build (which must reuse every part and not merge).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

PER_CAPTION = 5


def recipe(data: Path) -> dict[str, object]:
    """ReasonAQA's recipe (recipes/reasonaqa.yaml) over the files of ``data``."""
    synthetic = []
    for name, dataset, csv, split in [
        ("audiocaps-val", "audiocaps", "audiocaps/val.csv", "val"),
        ("audiocaps-test", "audiocaps", "audiocaps/test.csv", "test"),
        ("clotho-test", "clotho", "clotho/clotho_captions_evaluation.csv", "test"),
    ]:
        for task in ("mcq", "detail"):
            synthetic.append(
                {
                    "name": f"{name}-{task}",
                    "dataset": dataset,
                    "csv": [str(data / csv)],
                    "split": split,
                    "tasks": [task],
                    "per_caption": PER_CAPTION,
                }
            )
    captions = [
        ("audiocaps-captions-val", "audiocaps", "audiocaps/val.csv", "val", 1),
        ("audiocaps-captions-test", "audiocaps", "audiocaps/test.csv", "test", None),
        ("clotho-captions-test", "clotho", "clotho/clotho_captions_evaluation.csv", "test", None),
    ]
    existing: list[dict[str, object]] = [
        {
            "name": name,
            "format": "captions",
            "dataset": dataset,
            "csv": [str(data / csv)],
            "split": split,
            **({"max_per_clip": most} if most else {}),
        }
        for name, dataset, csv, split, most in captions
    ]
    existing += [
        {"name": name, "format": "entailment", "path": str(data / path), "split": split}
        for name, path, split in [
            ("cle-val", "entailment/clotho_entailment_validation.csv", "val"),
            ("cle-test", "entailment/clotho_entailment_evaluation.csv", "test"),
            ("ace-test", "entailment/audiocaps_entailment_test.csv", "test"),
        ]
    ]
    existing += [
        {
            "name": "acd-val",
            "format": "adiff",
            "path": [str(p) for p in sorted((data / "adiff").glob("acd_val_adiff_*.csv"))],
            "split": "val",
        },
        {
            "name": "cld-val",
            "format": "adiff",
            "path": [str(p) for p in sorted((data / "adiff").glob("cld_validation_adiff_*.csv"))],
            "split": "val",
        },
    ]
    return {
        "name": "reasonaqa-shared-data",
        "seed": 0,
        "generation": {"backend": "openai", "concurrency": 64},
        "synthetic": synthetic,
        "existing": existing,
    }


def requests_served(base_url: str) -> int:
    with urllib.request.urlopen(base_url.removesuffix("/v1") + "/_stats", timeout=10) as answer:
        return int(json.load(answer)["requests"])


def run_build(recipe_path: Path, out: Path, base_url: str) -> dict[str, object]:
    """One ``reasonaqa build`` in a child process: wall time, peak RSS, exit code, output."""
    from reasonaqa.testing.fault_server import MODEL_ID

    before = requests_served(base_url)
    command = [
        sys.executable, __file__, "--child", "build", str(recipe_path), "-o", str(out),
        "--base-url", base_url, "--model", MODEL_ID, "--no-progress",
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 3):
        raise SystemExit(f"build failed ({done.returncode}): {done.stderr[-2000:]}")
    peak = json.loads(done.stderr.strip().splitlines()[-1])["peak_rss_mib"]
    return {
        "requests": requests_served(base_url) - before,
        "wall_s": round(wall, 1),
        "peak_rss_mib": peak,
        "exit_code": done.returncode,
        "reused_parts": done.stdout.count("(reused, unchanged)"),
        "merged": "(unchanged since the last build)" not in done.stdout,
    }


def journal_figures(out: Path) -> dict[str, float]:
    """Journal bytes (with any WAL) per synthetic record, and the disk of the whole build."""
    import sqlite3

    journal_bytes = records = 0
    for journal in sorted(out.glob("_synthetic/*/_journal.sqlite")):
        journal_bytes += sum(p.stat().st_size for p in journal.parent.glob("_journal.sqlite*"))
        with sqlite3.connect(journal) as db:
            records += db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    build_bytes = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    summary = json.loads((out / "_run.json").read_text(encoding="utf-8"))
    rows = sum(summary["splits"].values())
    return {
        "synthetic_records": records,
        "journal_bytes": journal_bytes,
        "journal_bytes_per_record": round(journal_bytes / records, 1),
        "journal_gb_per_1m_records": round(journal_bytes / records * 1e6 / 1e9, 3),
        "rows": rows,
        "build_bytes": build_bytes,
        "build_gb_per_1m_rows": round(build_bytes / rows * 1e6 / 1e9, 3),
        "splits": summary["splits"],
        "accepted": summary["counts"]["accepted"],
    }


def child(argv: list[str]) -> None:
    """Run the CLI in this process, then report its peak RSS on stderr's last line."""
    from reasonaqa.cli import main

    sys.argv = ["reasonaqa", *argv]
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mib": round(peak, 1)}), file=sys.stderr)
    sys.exit(code)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"{args.data} is not a folder: pass --data")
    from reasonaqa.testing.servers import fault_server

    work = args.work or Path(tempfile.mkdtemp(prefix="build-real-"))
    work.mkdir(parents=True, exist_ok=True)
    recipe_path = work / "recipe.yaml"
    recipe_path.write_text(yaml.safe_dump(recipe(args.data.resolve())), encoding="utf-8")
    out = work / "out"
    os.environ.setdefault("PYTHONPATH", str(REPO_ROOT))
    with fault_server(mode="instant") as url:
        first = run_build(recipe_path, out, url)
        figures = journal_figures(out)
        rerun = run_build(recipe_path, out, url)
    result = {"build": first, "rerun": rerun, **figures, "work": str(work)}
    print(json.dumps(result, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
