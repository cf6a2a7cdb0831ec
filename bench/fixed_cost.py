"""The fixed cost of a run: process start to the first request, and last reply to exit.

    .venv/bin/python bench/fixed_cost.py                     # this tree against bf480ad
    .venv/bin/python bench/fixed_cost.py --baseline REV --items 10000 --rounds 3

Runs ``reasonaqa generate`` as a whole process (one MCQ per clip, no second passes) against
the fault server in instant mode with its request log on, for this tree and for a baseline
revision unpacked with ``git archive``, alternating, ``--rounds`` times each, so both see the
same machine. The server log stamps every request, so for each run: start-up = first request
minus process start; tail = process exit minus last request (finalize, shards, _run.json);
fixed = the two together. Also a bare aiohttp loop (bench/engine.py's) for the floor. Prints a
markdown table of medians and the ratio of this tree's fixed cost to the baseline's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def unpack(revision: str, into: Path) -> Path:
    """A clean copy of ``revision`` of this repository."""
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", revision], check=True, capture_output=True
    )
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def generate_command(url: str, manifest: Path, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "reasonaqa", "generate", "-m", str(manifest), "-o", str(out),
        "--backend", "openai", "--base-url", url, "--model", "bench", "--tasks", "mcq",
        "--no-grounding", "--audio-votes", "0", "--concurrency", "64", "--no-progress",
    ]  # fmt: skip


def bare_command(url: str, items: int) -> list[str]:
    script = (
        "import sys; sys.path.insert(0, 'bench'); import engine;"
        "from reasonaqa.engine import loop;"
        f"loop.run(engine.bare_loop({url!r}, {items}, 64))"
    )
    return [sys.executable, "-c", script]


def timed(command: list[str], code: Path, log: Path) -> dict[str, float]:
    """Run ``command`` with ``code`` first on the path; split its wall time by the log."""
    seen = log.stat().st_size if log.exists() else 0
    env = os.environ | {"PYTHONPATH": str(code)}
    start = time.time()
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=code)
    end = time.time()
    with log.open(encoding="utf-8") as fh:
        fh.seek(seen)
        stamps = [json.loads(line)["t"] for line in fh if line.strip()]
    return {
        "startup": stamps[0] - start,
        "tail": end - stamps[-1],
        "fixed": (stamps[0] - start) + (end - stamps[-1]),
        "wall": end - start,
        "requests": len(stamps),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="bf480ad", help="git revision to compare with")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from bench.engine import write_manifest
    from reasonaqa.testing.servers import fault_server

    results: dict[str, list[dict[str, float]]] = {"baseline": [], "this tree": [], "bare": []}
    with tempfile.TemporaryDirectory(prefix="bench-fixed-") as tmp:
        work = Path(tmp)
        baseline = unpack(args.baseline, work / "baseline")
        manifest = work / "manifest.jsonl"
        write_manifest(manifest, args.items)
        log = work / "server.jsonl"
        with fault_server(mode="instant", log=log) as url:
            for round_ in range(args.rounds):
                for name, code in (("baseline", baseline), ("this tree", REPO_ROOT)):
                    out = work / f"{name.replace(' ', '-')}-{round_}"
                    command = generate_command(url, manifest, out)
                    results[name].append(timed(command, code, log))
                results["bare"].append(timed(bare_command(url, args.items), REPO_ROOT, log))
    print(table(results, args))


def table(results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> str:
    lines = [
        f"{args.items:,} MCQ requests, median of {args.rounds} alternating rounds "
        f"(baseline {args.baseline}):",
        "",
        "| run | start-up s | tail s | fixed s | wall s |",
        "|---|---:|---:|---:|---:|",
    ]
    medians = {
        name: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for name, runs in results.items()
    }
    for name, m in medians.items():
        lines.append(
            f"| {name} | {m['startup']:.2f} | {m['tail']:.2f} | {m['fixed']:.2f} | "
            f"{m['wall']:.2f} |"
        )
    ratio = medians["this tree"]["fixed"] / medians["baseline"]["fixed"]
    lines += ["", f"Fixed cost, this tree / baseline: {ratio:.2f}"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
