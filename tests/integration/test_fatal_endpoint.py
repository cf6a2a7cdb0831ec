"""An endpoint that refuses the run stops it at once: one line, the status, nothing quarantined."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.runs import committed_ids, generate_command
from reasonaqa.testing.servers import fault_server


def _run(command: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return proc, time.monotonic() - start


def test_a_401_on_every_request_stops_the_run_with_the_status(
    tmp_path: Path, sample_manifest: Path
) -> None:
    out = tmp_path / "run"
    with fault_server(rates={"unauthorized": 1.0}) as url:
        proc, _ = _run(generate_command(sample_manifest, out, url, "--no-grounding"))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "401" in lines[0] and "Traceback" not in proc.stderr
    assert not committed_ids(out) or not (RunPaths(out).quarantine).exists()


def test_a_wrong_key_is_caught_before_any_request_of_the_run(
    tmp_path: Path, sample_manifest: Path
) -> None:
    out = tmp_path / "run"
    with fault_server(api_key="the-right-key") as url:
        proc, seconds = _run(generate_command(sample_manifest, out, url))
    assert proc.returncode == 2 and "401" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not committed_ids(out) and not RunPaths(out).data.exists()
    assert seconds < 60


def test_an_unreachable_endpoint_is_one_line(tmp_path: Path, sample_manifest: Path) -> None:
    proc, _ = _run(generate_command(sample_manifest, tmp_path / "run", "http://127.0.0.1:9/v1"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
