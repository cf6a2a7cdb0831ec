"""Atomic file writes: a reader sees the old file or the whole new one, never a part.

Temporary files and folders from ``tempfile`` are private (0600 / 0700); what we publish
follows the user's umask instead, as a file written with ``open`` would, so colleagues on a
shared cluster can read runs, cards and checkpoints.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from reasonaqa.errors import naming


def _umask() -> int:
    # os.umask can only be read by setting it: set and restore at once, before any thread runs.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _umask()
FILE_MODE = 0o666 & ~UMASK
FOLDER_MODE = 0o777 & ~UMASK


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it into place only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The temp name starts with "." so Parquet dataset discovery skips it.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        with naming(target):
            yield tmp_path
            _fsync(tmp_path)
            os.chmod(tmp_path, FILE_MODE)
            os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_text_atomic(target: str | Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
