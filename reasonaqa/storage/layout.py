"""The layout of a run folder: final shards under ``data/``, everything else under ``_`` names.

Parquet dataset discovery skips names starting with ``_`` (or ``.``) and fails on any other
file that is not Parquet: that is what lets ``pandas.read_parquet(RUN)`` load the shards and
nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Every folder reasonaqa writes (run, build, export) holds this file: what wrote it, so a
# folder of the user's is never written into or replaced (``storage.ownership``).
OWNER_MARKER = "_reasonaqa.json"
# The lock a process holds on a run folder while it writes there (``storage.folder_lock``).
LOCK_FILE = "_lock"


@dataclass(frozen=True)
class RunPaths:
    root: Path

    @property
    def marker(self) -> Path:
        return self.root / OWNER_MARKER

    @property
    def lock(self) -> Path:
        return self.root / LOCK_FILE

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def journal(self) -> Path:
        return self.root / "_journal.sqlite"

    @property
    def quarantine(self) -> Path:
        return self.root / "_quarantine"

    @property
    def rejected(self) -> Path:
        return self.root / "_rejected"

    @property
    def run_manifest(self) -> Path:
        return self.root / "_run.json"

    @property
    def plan(self) -> Path:
        """A build's plan: sources, clip identities, leaks and the decisions taken on them."""
        return self.root / "_plan.json"

    @property
    def progress(self) -> Path:
        return self.root / "_progress.json"

    @property
    def card(self) -> Path:
        """The dataset card; ``export hf`` puts it at the root of its folder as README.md."""
        return self.root / "_card" / "README.md"

    @property
    def plots(self) -> Path:
        return self.root / "_card" / "plots"
