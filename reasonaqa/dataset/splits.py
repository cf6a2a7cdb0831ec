"""Split integrity: a clip lives in one split only, by identity and, with audio, by content.

A clip is its identity (``sources.identity``): Clotho split folder + file name, AudioCaps
YouTube id + start time. ``SplitGuard`` records the splits (and the recipe parts) each clip
is seen in, from the build's plan or from streamed shard batches (single- and two-audio rows
alike), and ``leaks`` lists every clip seen in two splits, not only the first. With an audio
root it also hashes every clip's file, which catches one recording filed under two names.
``Decontamination`` drops listed clips from training.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from reasonaqa.errors import InputError
from reasonaqa.sources.identity import clip_key, path_folder, source_folder

TRAIN_SPLIT = "train"
CLIP_SLOTS = (("clip_id", "audio_path"), ("clip_id_2", "audio_path_2"))
# Identity key columns a build adds to its batches (dropped before writing); without them a
# key is derived from the row (``derived_key``).
KEY_COLUMNS = ("_key", "_key_2")
SHOWN_LEAKS = 5  # leaks named in the error message; the plan file lists them all


@dataclass(frozen=True)
class Leak:
    """A clip found in more than one split: which splits, and the recipe parts in each."""

    key: str
    homes: dict[str, list[str]]  # split -> parts, both sorted
    by: str = "clip identity"  # or "audio content of <other clip>"

    def describe(self) -> str:
        where = " and ".join(f"{split} ({', '.join(parts)})" for split, parts in self.homes.items())
        return f"{self.key} is in {where}, matched by {self.by}"

    def as_json(self) -> dict[str, object]:
        return {"clip": self.key, "splits": self.homes, "by": self.by}


class SplitLeakError(InputError):
    """Clips cross splits: training on them would leak evaluation data."""

    def __init__(self, leaks: list[Leak], where: Path | None = None) -> None:
        self.leaks = leaks
        shown = "; ".join(leak.describe() for leak in leaks[:SHOWN_LEAKS])
        more = f"; and {len(leaks) - SHOWN_LEAKS} more" if len(leaks) > SHOWN_LEAKS else ""
        listed = f"; every one is listed in {where}" if where is not None else ""
        super().__init__(
            f"split leak: {len(leaks)} clip(s) cross splits: {shown}{more}{listed}; set"
            " split_leaks: drop in the recipe to keep each in one split, or list them under"
            " exclude:"
        )


@dataclass
class SplitGuard:
    """Collects each clip's splits; ``leaks`` lists the clips in more than one."""

    audio_root: Path | None = None
    homes: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # key -> split -> parts
    paths: dict[str, str] = field(default_factory=dict)  # key -> audio path, first seen
    missing_audio: int = 0

    def place(self, key: str, split: str, part: str, audio_path: str = "") -> None:
        """Record that ``part`` has clip ``key`` in ``split``."""
        self.homes.setdefault(key, {}).setdefault(split, set()).add(part)
        if audio_path:
            self.paths.setdefault(key, audio_path)

    def observe(self, table: pa.Table, part: str) -> None:
        """Record the clips of one batch; ``split`` is the batch's final split column."""
        for slot, (id_column, path_column) in enumerate(CLIP_SLOTS):
            keyed = KEY_COLUMNS[slot] in table.column_names
            groups = [KEY_COLUMNS[slot], "split"] if keyed else ["dataset", id_column, "split"]
            rows = table.filter(pc.is_valid(table[groups[-2]]))
            if rows.num_rows == 0:
                continue
            # Distinct clips per batch first: a clip has many rows, and Python sees each once.
            distinct = rows.group_by(groups).aggregate([(path_column, "min")])
            columns = [distinct[name].to_pylist() for name in [*groups, f"{path_column}_min"]]
            for *ids, split, path in zip(*columns, strict=True):
                key = ids[0] if keyed else derived_key(ids[0], ids[1], split, path or "")
                self.place(key, split, part, path or "")

    def leaks(self) -> list[Leak]:
        """Every clip in two or more splits, by identity, then (with an audio root) by content."""
        found = [
            Leak(key, _sorted_homes(splits))
            for key, splits in sorted(self.homes.items())
            if len(splits) > 1
        ]
        if self.audio_root is not None:
            found += self._audio_leaks(self.audio_root)
        return found

    def check(self, where: Path | None = None) -> None:
        """Raise ``SplitLeakError`` listing every leak."""
        leaks = self.leaks()
        if leaks:
            raise SplitLeakError(leaks, where)

    def _audio_leaks(self, root: Path) -> list[Leak]:
        self.missing_audio = 0
        seen: dict[str, tuple[str, str]] = {}  # digest -> (first key, its split)
        found = []
        for key, splits in sorted(self.homes.items()):
            path = locate_audio(root, self.paths.get(key, ""))
            if path is None:
                self.missing_audio += 1
                continue
            split = min(splits)
            first_key, first_split = seen.setdefault(file_hash(path), (key, split))
            if first_split != split:
                homes = {first_split: [first_key], split: [key]}
                found.append(Leak(key, _sorted_homes(homes), f"audio content of {first_key}"))
        return found

    @property
    def clip_count(self) -> int:
        return len(self.homes)


def derived_key(dataset: str, clip_id: str, split: str, audio_path: str) -> str:
    """A row's clip identity from its own columns: the folder its audio path names, else the
    source folder of its split. AudioCaps start times need the caption CSV: see the plan."""
    folder = path_folder(audio_path) or source_folder(dataset, split)
    return clip_key(dataset, folder, clip_id)


def _sorted_homes(splits: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    return {split: sorted(parts) for split, parts in sorted(splits.items())}


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


def read_clip_list(path: Path) -> set[str]:
    """Clip ids or audio names, one per line (``#`` comments and blank lines ignored)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("clip list not found", file=path)
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")}


class Decontamination:
    """Clip ids to keep out of training, one per line (``#`` comments and blanks ignored).

    A line matches a row's clip id, or its audio file name with or without the extension,
    in either audio slot, so benchmark lists of ``Y<id>`` names or ``.wav`` files both work.
    A build applies its ``decontaminate`` list in its plan instead (before generating).
    """

    def __init__(self, ids: set[str]) -> None:
        self.ids = pa.array(sorted(ids), pa.string())
        self.removed = 0

    @classmethod
    def load(cls, path: Path) -> Decontamination:
        return cls(read_clip_list(path))

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
