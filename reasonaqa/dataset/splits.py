"""Split integrity: a clip lives in one split only, by id and, with audio, by content.

``SplitGuard`` watches the rows as they stream past and remembers each clip's split
(single- and two-audio rows alike). ``check`` then fails the build naming the first clip
seen in two splits. With an audio root it also hashes every clip's file, which catches the
same recording filed under two names. ``Decontamination`` drops listed clips from training.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from reasonaqa.errors import InputError

TRAIN_SPLIT = "train"
CLIP_SLOTS = (("clip_id", "audio_path"), ("clip_id_2", "audio_path_2"))


@dataclass(frozen=True)
class ClipHome:
    """Where a clip was first seen: its split and audio path, and the part that had it."""

    split: str
    audio_path: str
    part: str


@dataclass(frozen=True)
class Leak:
    dataset: str
    clip_id: str
    first: ClipHome
    second: ClipHome
    by: str  # "clip id" or "audio content"

    def describe(self) -> str:
        return (
            f"{self.dataset} clip {self.clip_id!r} is in split {self.first.split!r}"
            f" ({self.first.part}) and in {self.second.split!r} ({self.second.part}),"
            f" matched by {self.by}"
        )


class SplitLeakError(InputError):
    """A clip crosses splits: training on it would leak evaluation data."""


@dataclass
class SplitGuard:
    """Collects each clip's split from streamed batches; ``check`` raises on any leak."""

    audio_root: Path | None = None
    homes: dict[tuple[str, str], ClipHome] = field(default_factory=dict)
    leaks: list[Leak] = field(default_factory=list)
    missing_audio: int = 0

    def observe(self, table: pa.Table, part: str) -> None:
        """Record the clips of one batch; ``split`` is the batch's final split column."""
        for id_column, path_column in CLIP_SLOTS:
            slot = table.select(["dataset", id_column, "split", path_column]).filter(
                pc.is_valid(table[id_column])
            )
            if slot.num_rows == 0:
                continue
            # Distinct clips per batch first: a clip has many rows, and Python sees each once.
            distinct = slot.group_by(["dataset", id_column, "split"]).aggregate(
                [(path_column, "min")]
            )
            names = ["dataset", id_column, "split", f"{path_column}_min"]
            for dataset, clip_id, split, audio_path in zip(
                *(distinct[name].to_pylist() for name in names), strict=True
            ):
                self._place(dataset, clip_id, ClipHome(split, audio_path or "", part))

    def _place(self, dataset: str, clip_id: str, home: ClipHome) -> None:
        first = self.homes.setdefault((dataset, clip_id), home)
        if first.split != home.split:
            self.leaks.append(Leak(dataset, clip_id, first, home, "clip id"))

    def check(self) -> None:
        """Raise ``SplitLeakError`` naming the first leak and how many clips leak in all."""
        if self.audio_root is not None:
            self._check_audio(self.audio_root)
        if self.leaks:
            clips = {(leak.dataset, leak.clip_id) for leak in self.leaks}
            raise SplitLeakError(
                f"split leak: {self.leaks[0].describe()}; {len(clips)} clip(s) cross splits"
            )

    def _check_audio(self, root: Path) -> None:
        seen: dict[str, tuple[str, str, ClipHome]] = {}
        for (dataset, clip_id), home in self.homes.items():
            path = locate_audio(root, home.audio_path)
            if path is None:
                self.missing_audio += 1
                continue
            digest = file_hash(path)
            first = seen.setdefault(digest, (dataset, clip_id, home))
            if first[2].split != home.split:
                self.leaks.append(
                    Leak(dataset, clip_id, first[2], home, f"audio content of {first[1]!r}")
                )

    @property
    def clip_count(self) -> int:
        return len(self.homes)


def locate_audio(root: Path, audio_path: str) -> Path | None:
    """The file of a clip: its path under the root, else its bare name there (flat layouts)."""
    if not audio_path:
        return None
    for candidate in (root / audio_path, root / Path(audio_path).name):
        if candidate.is_file():
            return candidate
    return None


def file_hash(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


class Decontamination:
    """Clip ids to keep out of training, one per line (``#`` comments and blanks ignored).

    A line matches a row's clip id, or its audio file name with or without the extension,
    in either audio slot, so benchmark lists of ``Y<id>`` names or ``.wav`` files both work.
    """

    def __init__(self, ids: set[str]) -> None:
        self.ids = pa.array(sorted(ids), pa.string())
        self.removed = 0

    @classmethod
    def load(cls, path: Path) -> Decontamination:
        path = Path(path)
        if not path.is_file():
            raise InputError("decontamination list not found", file=path)
        lines = path.read_text(encoding="utf-8").splitlines()
        ids = {line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")}
        return cls(ids)

    def apply(self, table: pa.Table) -> pa.Table:
        """Drop training rows whose clips are listed; other splits pass untouched."""
        if table.num_rows == 0 or len(self.ids) == 0:
            return table
        hit = pc.equal(table["split"], TRAIN_SPLIT)
        listed = pa.array([False] * table.num_rows)
        for id_column, path_column in CLIP_SLOTS:
            for values in (table[id_column], *_audio_names(table[path_column])):
                listed = pc.or_(listed, pc.fill_null(pc.is_in(values, value_set=self.ids), False))
        drop = pc.and_(hit, listed)
        self.removed += pc.sum(drop).as_py() or 0
        return table.filter(pc.invert(drop))


def _audio_names(paths: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    name = pc.replace_substring_regex(paths, pattern=r"^.*/", replacement="")
    stem = pc.replace_substring_regex(name, pattern=r"\.[^.]*$", replacement="")
    return name, stem
