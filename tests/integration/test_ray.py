"""Generation on a real local Ray cluster (2 CPUs), against the fault server over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from reasonaqa.engine.generate import generate
from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.runs import (
    committed_ids,
    comparable_rows,
    fault_server_config,
    generate_command,
)
from reasonaqa.testing.servers import fault_server

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

ARGS = ["--per-caption", "2", "--audio-votes", "1", "--grounding", "--concurrency", "4"]


def _local(manifest: Path, out: Path, url: str, per_request: int = 1) -> None:
    config = fault_server_config(
        manifest,
        out,
        url,
        per_caption=2,
        per_request=per_request,
        audio_votes=1,
        grounding=True,
        concurrency=4,
    )
    generate(config)


def _ray_command(manifest: Path, out: Path, url: str, per_request: int = 1) -> list[str]:
    k = ["--per-request", str(per_request)]
    return generate_command(manifest, out, url, *ARGS, *k, "--ray", "local")


def _env() -> dict[str, str]:
    # No auth for a local cluster that lives only as long as the test.
    return os.environ | {"RAY_AUTH_MODE": "disabled"}


@pytest.mark.parametrize("per_request", [1, 2])
def test_ray_run_gives_the_local_rows(
    tmp_path: Path, sample_manifest: Path, per_request: int
) -> None:
    with fault_server() as url:
        _local(sample_manifest, tmp_path / "local", url, per_request)
        subprocess.run(
            _ray_command(sample_manifest, tmp_path / "ray", url, per_request),
            check=True,
            timeout=600,
            env=_env(),
            capture_output=True,
        )
    pd.testing.assert_frame_equal(
        comparable_rows(tmp_path / "ray"), comparable_rows(tmp_path / "local")
    )


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(
    tmp_path: Path, sample_manifest: Path
) -> None:
    with fault_server(latency_s=0.05) as url:
        _local(sample_manifest, tmp_path / "local", url)
        proc = subprocess.Popen(
            _ray_command(sample_manifest, tmp_path / "ray", url),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        killed = _kill_a_busy_worker(proc)
        proc.wait(timeout=600)
        assert proc.returncode == 0, proc.stderr.read().decode()[-3000:]
    assert killed, "a Ray worker was killed while it processed a unit"
    rows = comparable_rows(tmp_path / "ray")
    assert rows["record_id"].is_unique
    pd.testing.assert_frame_equal(rows, comparable_rows(tmp_path / "local"))


def _kill_a_busy_worker(driver: subprocess.Popen[bytes]) -> bool:
    """SIGKILL the first Ray worker seen running a unit (its title is ``ray::_process_unit``)."""
    deadline = time.time() + 180
    while driver.poll() is None and time.time() < deadline:
        for proc in psutil.process_iter(["pid", "cmdline"]):
            if any("ray::_process_unit" in part for part in proc.info["cmdline"] or []):
                os.kill(proc.info["pid"], signal.SIGKILL)
                return True
        time.sleep(0.1)
    return False


def test_sigterm_stops_a_ray_run_cleanly(tmp_path: Path, sample_manifest: Path) -> None:
    """As a local run: committed, marked interrupted, the resume command, exit 143."""
    run = tmp_path / "ray"
    with fault_server(latency_s=0.1) as url:
        proc = subprocess.Popen(
            _ray_command(sample_manifest, run, url),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 300
        while not committed_ids(run) and time.monotonic() < deadline:
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "interrupted (SIGTERM)" in err and "--ray local" in err
    assert json.loads(RunPaths(run).progress.read_text())["state"] == "interrupted"
