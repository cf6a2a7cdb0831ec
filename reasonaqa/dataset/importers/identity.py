"""Identifiers shared by the importers: clip ids from audio names, deterministic record ids.

Importers keep a clip's id and path as their file spells them; the build's plan resolves
them to the clip's identity (``sources.identity``). Record ids hash what makes a row, with
each clip named by its identity key (``row_clip_key``), so two spellings of one clip give
one id.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter

from reasonaqa.schemas import Dataset
from reasonaqa.sources.identity import (
    clip_key,
    file_name,
    path_folder,
    source_folder,
    youtube_id,
)


def audiocaps_audio_name(clip_id: str) -> str:
    return f"Y{clip_id}.wav"


def clip_id_for(dataset: Dataset, name: str) -> str:
    """The clip id an audio name gives: AudioCaps YouTube id, Clotho file name (as written)."""
    return youtube_id(name) if dataset == "audiocaps" else file_name(name)


def row_clip_key(dataset: Dataset, name: str, split: str) -> str:
    """The identity key of the clip an audio name or path stands for, without a caption file
    (no AudioCaps start time): for record ids."""
    folder = path_folder(name) or source_folder(dataset, split)
    return clip_key(dataset, folder, clip_id_for(dataset, name))


def record_id(source: str, *parts: object) -> str:
    """Stable id of an imported row: the subset name and a hash of what makes the row."""
    blob = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.blake2b(blob.encode("utf-8"), digest_size=10).hexdigest()
    return f"{source}-{digest}"


def dataset_named(value: str) -> Dataset | None:
    """The dataset a source names (``Audiocaps``, ``ClothoV2``, ``clothov21``...), if any."""
    lowered = value.strip().lower()
    if lowered.startswith("audiocaps"):
        return "audiocaps"
    if lowered.startswith("clotho"):
        return "clotho"
    return None


class UniqueRecordIds:
    """``record_id`` for one import, numbering repeats of identical rows to keep ids unique.

    Release files do repeat rows (the AudioCaps entailment test set has a few); the first
    copy keeps the plain content id, later ones get ``-1``, ``-2``... in file order.
    """

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def __call__(self, source: str, *parts: object) -> str:
        rid = record_id(source, *parts)
        repeat = self._seen[rid]
        self._seen[rid] += 1
        return f"{rid}-{repeat}" if repeat else rid
