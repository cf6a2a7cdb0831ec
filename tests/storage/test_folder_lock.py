"""One writer per run folder: a live holder is named, a dead one's lock is simply taken."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from reasonaqa.errors import InputError
from reasonaqa.storage.folder_lock import FolderLock

HOLD = """
import sys, time
from pathlib import Path
from reasonaqa.storage.folder_lock import FolderLock
FolderLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
time.sleep(60)
"""


def _holder(lock: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def test_a_second_process_is_refused_with_the_holders_pid_and_host(tmp_path: Path) -> None:
    proc = _holder(tmp_path / "_lock")
    try:
        with pytest.raises(InputError) as caught:
            FolderLock(tmp_path / "_lock").acquire()
        assert f"PID {proc.pid} on {socket.gethostname()}" in str(caught.value)
        assert str(tmp_path) in str(caught.value)
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    proc = _holder(tmp_path / "_lock")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    lock = FolderLock(tmp_path / "_lock")
    lock.acquire()
    assert f'"pid": {os.getpid()}' in (tmp_path / "_lock").read_text()
    lock.release()
    again = FolderLock(tmp_path / "_lock")
    again.acquire()  # released: free again
    again.release()
