"""Signals, full and read-only disks, a file where a folder belongs: one line, a true exit
status, and a run that the same command resumes. Real subprocesses and real mounts."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.runs import committed_ids, generate_command
from reasonaqa.testing.servers import fault_server

OPTIONS = ("--audio-votes", "0", "--no-grounding", "--concurrency", "2")
SECRET = "sk-never-print-me"


def _credentials(url: str) -> str:
    return url.replace("http://", f"http://user:{SECRET}@")


def _one_line(stderr: str) -> str:
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    return stderr


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_signal_commits_marks_progress_and_prints_the_resume_command(
    tmp_path: Path, sample_manifest: Path, sig: signal.Signals, code: int
) -> None:
    run = tmp_path / "run"
    with fault_server(latency_s=0.1) as url:
        command = generate_command(sample_manifest, run, _credentials(url), *OPTIONS)
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not committed_ids(run) and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == code, err
        line = _one_line(err)
        assert line.startswith(f"interrupted ({sig.name}): ")
        assert "resume: reasonaqa generate" in line
        progress = json.loads(RunPaths(run).progress.read_text())
        assert progress["state"] == "interrupted"
        assert (progress["pid"], progress["host"]) == (proc.pid, socket.gethostname())
        assert committed_ids(run), "what was done before the signal is kept"
        assert SECRET not in out + err
        rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
    for path in run.rglob("*"):
        assert path.is_dir() or SECRET.encode() not in path.read_bytes(), path


def test_output_that_is_a_file_is_one_line(tmp_path: Path, sample_manifest: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    command = generate_command(sample_manifest, target, "http://127.0.0.1:9/v1", *OPTIONS)
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "is a file" in _one_line(result.stderr)
    assert target.read_text() == "mine"


def _can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


# tmpfs sizes that fail at different points: the lock file, the journal, finalize's shards.
# Sizes that fill at different steps (the compressed journal fits a sample run in 400 KB).
@pytest.mark.parametrize("size_kb", [4, 8, 60, 120])
def test_a_full_disk_is_one_line_and_the_run_resumes_with_space(
    tmp_path: Path, sample_manifest: Path, size_kb: int
) -> None:
    if not _can_mount():
        pytest.skip("cannot mount a tmpfs here (unshare -rm)")
    disk = tmp_path / "disk"
    disk.mkdir()
    with fault_server() as url:
        command = generate_command(sample_manifest, disk / "run", url, *OPTIONS)
        # In a private mount namespace: run on a tiny disk, grow it, run the same command again.
        script = (
            f"mount -t tmpfs -o size={size_kb}k tmpfs {disk} || exit 99\n"
            '"$@" 2>"$0.err"; echo "$?" >"$0.rc"\n'
            f"mount -o remount,size=8m {disk} || exit 99\n"
            '"$@" >/dev/null 2>"$0.err2"; echo "$?" >"$0.rc2"\n'
        )
        result = subprocess.run(
            ["unshare", "-rm", "sh", "-c", script, str(tmp_path / "out"), *command],
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert result.returncode == 0, result.stderr
    first = (tmp_path / "out.err").read_text()
    assert (tmp_path / "out.rc").read_text().strip() == "2", first
    assert _one_line(first).startswith("error: ")
    assert "disk is full" in first or "No space left on device" in first, first
    assert (tmp_path / "out.rc2").read_text().strip() == "0", (tmp_path / "out.err2").read_text()


def test_a_read_only_folder_is_one_line(tmp_path: Path, sample_manifest: Path) -> None:
    if not _can_mount():
        pytest.skip("cannot mount a tmpfs here (unshare -rm)")
    disk = tmp_path / "disk"
    disk.mkdir()
    command = generate_command(sample_manifest, disk / "run", "http://127.0.0.1:9/v1", *OPTIONS)
    script = f'mount -t tmpfs -o ro tmpfs {disk} || exit 99\nexec "$@"'
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", *command],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Read-only file system" in _one_line(result.stderr)


def test_a_folder_without_write_permission_is_one_line(
    tmp_path: Path, sample_manifest: Path
) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere; the read-only mount above covers this")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    command = generate_command(sample_manifest, locked / "run", "http://127.0.0.1:9/v1")
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Permission denied" in _one_line(result.stderr)
