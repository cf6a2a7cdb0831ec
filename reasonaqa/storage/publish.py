"""Publishing a folder whole: write into a hidden staging folder, then swap it in by renames.

``staged_folder`` is the one way the project replaces a folder (a run's ``data/``, the
set-aside folders, a build's shards, an export): readers see the old folder or the whole new
one, never a mix, and a failure leaves the old one untouched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from reasonaqa.storage.atomic import FOLDER_MODE


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Yield an empty staging folder beside ``target``; on success it replaces ``target``.

    On any exception the staging folder is removed and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A "." name: Parquet discovery of the parent folder skips it while it is being written.
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    try:
        os.chmod(staging, FOLDER_MODE)
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    publish_folder(staging, target)


def publish_folder(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` with renames, so readers never see a mix of both."""
    target = Path(target)
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)
