"""Two ``generate`` processes on one run folder: the second refuses at once, the first is whole."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pandas as pd

from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.runs import comparable_rows, generate_command
from reasonaqa.testing.servers import fault_server

OPTIONS = ("--seed", "3", "--audio-votes", "0", "--no-grounding", "--concurrency", "2")


def _command(manifest: Path, out: Path, url: str) -> list[str]:
    return generate_command(manifest, out, url, *OPTIONS)


def _wait_for_lock_holder(first: subprocess.Popen[bytes], run: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and first.poll() is None:
        lock = RunPaths(run).lock
        if lock.is_file() and f'"pid": {first.pid}' in lock.read_text():
            return
        time.sleep(0.02)
    raise AssertionError("the first run never took the lock")


def test_a_second_generate_refuses_and_the_first_finishes_whole(
    tmp_path: Path, sample_manifest: Path
) -> None:
    reference, run = tmp_path / "reference", tmp_path / "run"
    with fault_server() as url:
        subprocess.run(
            _command(sample_manifest, reference, url), check=True, timeout=300, capture_output=True
        )
    with fault_server(latency_s=0.05) as url:  # a first run of a few seconds
        first = subprocess.Popen(
            _command(sample_manifest, run, url), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        _wait_for_lock_holder(first, run)
        started = time.monotonic()
        second = subprocess.run(
            _command(sample_manifest, run, url), capture_output=True, text=True, timeout=60
        )
        second_s = time.monotonic() - started
        assert first.poll() is None, "the first run must still be going"
        _, first_err = first.communicate(timeout=300)

    assert second.returncode == 2
    assert second.stderr.count("\n") == 1, second.stderr
    assert f"PID {first.pid} on {socket.gethostname()}" in second.stderr
    # Process start and imports take most of it; the refusal itself sends nothing.
    assert second_s < 10, second_s
    assert first.returncode == 0, first_err.decode()
    pd.testing.assert_frame_equal(comparable_rows(run), comparable_rows(reference))
