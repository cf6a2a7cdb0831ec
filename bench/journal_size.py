"""Journal bytes per synthetic record, table by table, for one ``generate`` run.

    .venv/bin/python bench/journal_size.py [--csv ../shared/data/audiocaps/val.csv]

Builds a manifest from an AudioCaps caption CSV, runs ``reasonaqa generate`` on it (MCQ and
detailed, one per caption, grounding and three audio votes) against the fault server in
``instant`` mode, checkpoints the WAL and prints the journal's size per record with SQLite's
``dbstat`` breakdown. To measure another version of the code, run the script with
``PYTHONPATH`` pointing at that checkout: the run itself uses whatever ``reasonaqa`` imports.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_csv = REPO_ROOT.parent / "shared" / "data" / "audiocaps" / "val.csv"
    parser.add_argument("--csv", type=Path, default=default_csv)
    args = parser.parse_args()
    if str(REPO_ROOT) not in sys.path and "PYTHONPATH" not in os.environ:
        sys.path.insert(0, str(REPO_ROOT))
    from reasonaqa.testing.fault_server import MODEL_ID
    from reasonaqa.testing.servers import fault_server

    work = Path(tempfile.mkdtemp(prefix="journal-size-"))
    manifest, run = work / "clips.jsonl", work / "run"
    cli = [sys.executable, "-m", "reasonaqa"]
    subprocess.run(
        [*cli, "manifest", "audiocaps", str(args.csv), "--split", "val", "-o", str(manifest)],
        check=True, capture_output=True,
    )  # fmt: skip
    with fault_server(mode="instant") as url:
        subprocess.run(
            [*cli, "generate", "-m", str(manifest), "-o", str(run), "--backend", "openai",
             "--base-url", url, "--model", MODEL_ID, "--no-progress", "--concurrency", "64"],
            check=True, capture_output=True,
        )  # fmt: skip
    journal = run / "_journal.sqlite"
    with sqlite3.connect(journal) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        records = db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        tables = dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
    size = sum(p.stat().st_size for p in run.glob("_journal.sqlite*"))
    print(
        json.dumps(
            {
                "records": records,
                "journal_bytes": size,
                "bytes_per_record": round(size / records, 1),
                "by_table_bytes_per_record": {
                    name: round(pages / records, 1) for name, pages in sorted(tables.items())
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
