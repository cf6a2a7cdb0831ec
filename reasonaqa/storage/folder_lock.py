"""One writer per run folder: an OS file lock (``flock``) on the folder's ``_lock`` file.

A second process refuses at once, naming the holder's PID and host, instead of doing the
same LLM work twice and crashing in finalize. The kernel drops a flock when its process dies,
however it dies (kill -9 included), so a lock left behind by a dead process is free by itself
and the next run simply takes it: there is no stale-lock guessing. The file stays in the
folder (deleting it would race with a process opening it); it holds the holder's PID, host
and start time only to name them. Linux emulates flock with POSIX locks on NFS, so the lock
also holds between hosts sharing a folder there.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
from pathlib import Path

from reasonaqa.errors import InputError, naming

HOLDER_BYTES = 4096  # more than a holder line ever takes


class FolderLock:
    """Hold ``path`` locked from ``acquire`` to ``release`` (or to the end of the process)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise ``InputError`` naming the process that holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise InputError(
                f"in use by {holder}: wait for it to finish or stop it, then rerun",
                file=self.path.parent,
            ) from None
        self._fd = fd
        with naming(self.path):
            _write_holder(fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


def _write_holder(fd: int) -> None:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    line = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": now})
    os.ftruncate(fd, 0)
    os.pwrite(fd, (line + "\n").encode("utf-8"), 0)


def _holder(fd: int) -> str:
    """Who holds the lock, as its file says; it may not have written itself there yet."""
    try:
        info = json.loads(os.pread(fd, HOLDER_BYTES, 0) or b"{}")
        return f"PID {int(info['pid'])} on {info['host']} (since {info['since']})"
    except (ValueError, KeyError, TypeError):
        return "another reasonaqa process"
