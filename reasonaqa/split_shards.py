"""A run's ``data/`` folder as splits: finding ``<split>-NNNNN.parquet`` shards, publishing.

Writers (``shards.SplitShardWriter``) write into a staging folder; ``publish_folder`` swaps
it in whole, so readers never see a half-written split.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

from reasonaqa.errors import InputError
from reasonaqa.shards import shard_paths

SHARD_NAME = re.compile(r"^(?P<split>.+)-(?P<index>\d{5})\.parquet$")


def shards_by_split(directory: Path) -> dict[str, list[Path]]:
    """The committed shards of a run's ``data/`` folder, grouped by split, in index order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError("no data/ folder: not a finished run", file=directory)
    splits: dict[str, list[Path]] = {}
    for path in shard_paths(directory):
        match = SHARD_NAME.match(path.name)
        if match is None:
            raise InputError("shard name is not <split>-NNNNN.parquet", file=path)
        splits.setdefault(match["split"], []).append(path)
    return splits


def publish_folder(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` with renames, so readers never see a mix of both."""
    target = Path(target)
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)
