"""kill -9 the generate process at random points and rerun until done: nothing lost or doubled."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from reasonaqa.engine.work import derive_seed
from reasonaqa.testing.fault_server import read_log
from reasonaqa.testing.runs import committed_ids, comparable_rows, generate_command
from reasonaqa.testing.servers import fault_server

SEED = 7
VOTES = 2
KILLS = 3
CAPTIONS = 42  # captions of the sample manifest; two tasks each


@dataclass(frozen=True)
class Shape:
    """Items per caption, and how many of them one generation request asks for."""

    per_caption: int
    per_request: int

    @property
    def total(self) -> int:
        return CAPTIONS * 2 * self.per_caption


SHAPES = [Shape(4, 1), Shape(5, 5)]


def _command(manifest: Path, out: Path, url: str, shape: Shape) -> list[str]:
    return generate_command(
        manifest, out, url, "--per-caption", str(shape.per_caption),
        "--per-request", str(shape.per_request), "--seed", str(SEED),
        "--audio-votes", str(VOTES), "--grounding", "--concurrency", "2", "--shard-rows", "40",
    )  # fmt: skip


def _kill_when(proc: subprocess.Popen[bytes], run: Path, goal: float, total: int) -> None:
    """kill -9 once the journal holds ``goal`` of the reference's records, a little after."""
    deadline = time.time() + 120
    while proc.poll() is None and time.time() < deadline:
        if len(committed_ids(run)) >= goal * total:
            time.sleep(random.uniform(0.0, 0.8))
            break
        time.sleep(0.05)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _seeds_of(record_ids: set[str]) -> set[int]:
    """Every seed the engine sends for these records: generation, grounding, each vote.

    With K per request, a request goes with its first item's seed: once any item of it is
    committed, its answer is in the journal too (both are in the same commit).
    """
    seeds: set[int] = set()
    for rid in record_ids:
        seeds.add(derive_seed(SEED, rid))
        seeds.add(derive_seed(SEED, rid, "grounding"))
        audio = derive_seed(SEED, rid, "audio")
        seeds.update(audio + i for i in range(VOTES))
    return seeds


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"per_request_{s.per_request}")
def test_kill_nine_and_rerun_gives_the_uninterrupted_rows(
    tmp_path: Path, sample_manifest: Path, shape: Shape
) -> None:
    rng = random.Random(1234)
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    log = tmp_path / "server.jsonl"
    with fault_server() as url:
        subprocess.run(
            _command(sample_manifest, reference, url, shape),
            check=True,
            timeout=300,
            capture_output=True,
        )
    with fault_server(log=log, latency_s=0.01) as url:  # a run of ~10 s to interrupt
        rounds: list[tuple[float, set[str]]] = []  # (start time, committed before it)
        kills = 0
        for round_no in range(KILLS + 1):
            rounds.append((time.time(), committed_ids(resumed)))
            proc = subprocess.Popen(
                _command(sample_manifest, resumed, url, shape),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            if round_no < KILLS:
                goal = (round_no + rng.uniform(0.3, 0.9)) / (KILLS + 1)
                _kill_when(proc, resumed, goal, shape.total)
                kills += proc.returncode == -signal.SIGKILL
            proc.wait(timeout=300)
            if proc.returncode == 0:
                break
            assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()

    assert kills >= 2, "the test must really interrupt the run"
    assert len(committed_ids(reference)) == shape.total
    pd.testing.assert_frame_equal(comparable_rows(resumed), comparable_rows(reference))

    # No request was answered for a record that an earlier round had already committed.
    answered = [line for line in read_log(log) if line.get("status") == 200]
    for i, (start, committed_before) in enumerate(rounds):
        end = rounds[i + 1][0] if i + 1 < len(rounds) else float("inf")
        forbidden = _seeds_of(committed_before)
        repeated = [
            line
            for line in answered
            if start <= float(line["t"]) < end and line.get("seed") in forbidden
        ]
        assert not repeated, f"round {i} asked again for committed records: {repeated[:3]}"
