"""Identifiers shared by the importers: clip ids from audio names, deterministic record ids."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import PurePosixPath

from reasonaqa.schemas import Dataset


def audiocaps_clip_id(name: str) -> str:
    """``Y<youtube_id>`` or ``AudioCapsLarger/val/Y<youtube_id>.wav`` -> ``<youtube_id>``.

    AudioCaps audio files carry one ``Y`` before the YouTube id, which may itself start with
    ``Y``; exactly one is removed.
    """
    stem = PurePosixPath(name).name
    stem = stem.removesuffix(".wav")
    return stem[1:] if stem.startswith("Y") else stem


def audiocaps_audio_name(clip_id: str) -> str:
    return f"Y{clip_id}.wav"


def clotho_clip_id(name: str) -> str:
    """Clotho clips are known by their file name, extension included, as in its CSVs."""
    return PurePosixPath(name).name


def clip_id_for(dataset: Dataset, name: str) -> str:
    return audiocaps_clip_id(name) if dataset == "audiocaps" else clotho_clip_id(name)


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
