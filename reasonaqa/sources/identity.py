"""Clip identity: which recording a row is about, the same in every release that names it.

A clip is known by its dataset, its source split folder and its file name:

* Clotho: split folder (``development``, ``validation``, ``evaluation``) + file name. The
  folder is part of the identity because Clotho v2.1 reuses four file names across split
  folders for different recordings (``KNOWN_CLOTHO_NAME_REUSE``): the same name in two
  folders is two clips, not a leak.
* AudioCaps: YouTube id + start time (the segment of the video). The id is global, so the
  split folder is not part of it: the same segment in two splits is one clip, and a leak.

Names are compared after whitespace normalisation (leading, trailing and repeated blanks),
so ADIFF's ``' e ieio ieai.wav'`` is Clotho's ``'e ieio ieai.wav'``. Keys are plain
strings, ``clotho:validation/e ieio ieai.wav`` or ``audiocaps:vfY_TJq7n_U@130``
(``audiocaps:<id>`` when no start time is known), so they sort, hash and print.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from reasonaqa.schemas import Clip

SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")
# Source split names and the output split each belongs to.
SPLIT_ALIASES: dict[str, str] = {
    "train": "train",
    "training": "train",
    "development": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "eval": "test",
    "evaluation": "test",
}
# The source split folder of each output split, as the releases (and Mellow's audio) name it.
SOURCE_FOLDERS: dict[str, dict[str, str]] = {
    "audiocaps": {"train": "train", "val": "val", "test": "test"},
    "clotho": {"train": "development", "val": "validation", "test": "evaluation"},
}
# Clotho v2.1 file names that stand for different recordings in two split folders.
KNOWN_CLOTHO_NAME_REUSE: dict[str, tuple[str, str]] = {
    "City Ambience w_ Car Passing_1-2.wav": ("development", "validation"),
    "FREEZER_DOOR_OPEN_CLOSE.wav": ("development", "evaluation"),
    "01 A pug struggles to breathe 1_14_2008.wav": ("validation", "evaluation"),
    "Bus(Drive_Reverse)_1-2.wav": ("validation", "evaluation"),
}


def output_split(name: str) -> str | None:
    """The output split of a source split name, or None when it is not one we know."""
    return SPLIT_ALIASES.get(name.strip().lower())


def source_folder(dataset: str, split: str) -> str:
    """The source split folder a split name stands for (``test`` -> Clotho ``evaluation``)."""
    mapped = output_split(split)
    if mapped is None:
        return split.strip()
    return SOURCE_FOLDERS.get(dataset, {}).get(mapped, mapped)


def path_folder(path: str) -> str | None:
    """The split folder an audio path names (``ClothoV21/validation/x.wav`` -> validation)."""
    parent = path.rsplit("/", 2)
    if len(parent) < 2:
        return None
    folder = parent[-2].strip()
    return folder if output_split(folder) is not None else None


def normalise_name(name: str) -> str:
    """A name with leading, trailing and repeated whitespace removed: how names are compared."""
    return " ".join(name.split())


def file_name(path: str) -> str:
    """The last component of an audio path, exactly as written."""
    return path.rsplit("/", 1)[-1]


def youtube_id(name: str) -> str:
    """``Y<youtube_id>``, ``Y<id>.wav`` or ``AudioCapsLarger/val/Y<id>.wav`` -> ``<id>``.

    AudioCaps audio files carry one ``Y`` before the YouTube id, which may itself start with
    ``Y``; exactly one is removed. Pass file names here, never bare YouTube ids.
    """
    stem = PurePosixPath(name.strip()).name.removesuffix(".wav")
    return stem[1:] if stem.startswith("Y") else stem


def clip_key(dataset: str, folder: str, name: str, start: float | None = None) -> str:
    """The identity key of a clip. ``folder`` is ignored for AudioCaps, ``start`` for Clotho."""
    if dataset == "audiocaps":
        base = f"audiocaps:{normalise_name(name)}"
        return base if start is None else f"{base}@{start:g}"
    return f"{dataset}:{folder}/{normalise_name(name)}"


def clip_identity(clip: Clip) -> str:
    """The identity key of a manifest clip: its split names its source split folder."""
    return clip_key(
        clip.dataset, source_folder(clip.dataset, clip.split), clip.clip_id, clip.start_time
    )


def key_name(key: str) -> str:
    """The clip's name in a key (file name or YouTube id), for messages and matching."""
    rest = key.split(":", 1)[1]
    if key.startswith("audiocaps:"):
        return rest.split("@", 1)[0]
    return rest.split("/", 1)[1] if "/" in rest else rest


def key_folder(key: str) -> str | None:
    """The split folder in a Clotho key; None for AudioCaps keys."""
    if key.startswith("audiocaps:"):
        return None
    rest = key.split(":", 1)[1]
    return rest.split("/", 1)[0] if "/" in rest else None
