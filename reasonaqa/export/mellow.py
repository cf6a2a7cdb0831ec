"""The Mellow export: one JSON list per split in the released record format
(``storage.mellow_records``); captioning and difference rows use the trigger inputs that
Mellow's trainer rewrites into instructions (SPEC.md §1).

Audio paths: a row's path is kept as it is when it names a folder (a build's rows follow its
``audio_layout``, Mellow's by default), so one audio root serves the build folder and this
export; a bare file name (a ``generate`` run's default manifest) is placed in Mellow's layout.
"""

from __future__ import annotations

from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

import pyarrow as pa

from reasonaqa.sources.identity import SOURCE_FOLDERS, SPLIT_NAMES
from reasonaqa.storage.atomic import atomic_path
from reasonaqa.storage.layout import RunPaths
from reasonaqa.storage.mellow_records import CHOICE_LETTERS, MELLOW_KEYS, inline_mcq, lettered
from reasonaqa.storage.ownership import check_export_target, write_marker
from reasonaqa.storage.publish import staged_folder
from reasonaqa.storage.shards import iter_batches, shards_by_split

AUDIO_FOLDERS = {"audiocaps": "AudioCapsLarger", "clotho": "ClothoV21"}
TASKNAMES = {"audiocaps": "audiocaps", "clotho": "clothov21"}
CAPTION_TRIGGER = "caption first audio"
COLUMNS = [
    "source",
    "dataset",
    "split",
    "task",
    "audio_path",
    "audio_path_2",
    "captions",
    "caption_index",
    "captions_2",
    "question",
    "answer",
    "options",
    "answer_letter",
]


def export_mellow(run: Path, out: Path, overwrite: bool = False) -> dict[str, int]:
    """Write ``out/<split>.json`` for each split of the run (train, val, test at least).

    Returns records written per split. The folder is published whole, and replaces an
    earlier export only with ``overwrite`` (see ``storage.ownership``).
    """
    check_export_target(run, out, "export-mellow", overwrite)
    shards = shards_by_split(RunPaths(Path(run)).data)
    counts: dict[str, int] = {}
    with staged_folder(Path(out)) as staging:
        write_marker(staging, "export-mellow")
        for split in sorted(set(SPLIT_NAMES) | set(shards)):
            counts[split] = _write_split(shards.get(split, []), staging / f"{split}.json")
    return counts


def _write_split(paths: list[Path], target: Path) -> int:
    count = 0
    with atomic_path(target) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write("[")
        for batch in iter_batches(paths, columns=COLUMNS, batch_size=16_384):
            lines = _json_lines(batch)
            if lines:
                fh.write(",\n" if count else "\n")
                fh.write(",\n".join(lines))
                count += len(lines)
        fh.write("\n]\n")
    return count


# One record per line; values escaped by json's C string encoder, the costly part otherwise.
_RECORD_JSON = "{" + ", ".join(f'"{key}": %s' for key in MELLOW_KEYS) + "}"


def _json_lines(batch: pa.RecordBatch) -> list[str]:
    columns = [batch.column(name).to_pylist() for name in COLUMNS]
    rows = (dict(zip(COLUMNS, values, strict=True)) for values in zip(*columns, strict=True))
    return [_RECORD_JSON % tuple(map(encode_basestring, mellow_values(row))) for row in rows]


def mellow_record(row: dict[str, Any]) -> dict[str, str]:
    """One QA row (a dict of QA columns) as a Mellow record."""
    return dict(zip(MELLOW_KEYS, mellow_values(row), strict=True))


def mellow_values(row: dict[str, Any]) -> tuple[str, ...]:
    """The values of a row's Mellow record, in ``MELLOW_KEYS`` order."""
    dataset, split, source = row["dataset"], row["split"], row["source"]
    prompt, answer = _prompt_and_answer(row)
    taskname = f"clotho_aqa_{split}" if row["task"] == "aqa" else TASKNAMES[dataset]
    return (
        taskname,
        mellow_path(dataset, split, row["audio_path"]),
        mellow_path(dataset, split, row["audio_path_2"]),
        _caption(row["captions"], row["caption_index"]),
        _caption(row["captions_2"], None),
        prompt,
        answer,
        f"{source}.json",
    )


def mellow_path(dataset: str, split: str, audio_path: str | None) -> str:
    """The row's own path when it has folders; a bare name in Mellow's layout
    (``AudioCapsLarger/test/Y<id>.wav``, ``ClothoV21/evaluation/<name>``)."""
    if not audio_path:
        return ""
    if "/" in audio_path:
        return audio_path
    folder = SOURCE_FOLDERS[dataset].get(split, split)
    return f"{AUDIO_FOLDERS[dataset]}/{folder}/{audio_path}"


def _prompt_and_answer(row: dict[str, Any]) -> tuple[str, str]:
    task, question, answer = row["task"], row["question"], row["answer"]
    if task == "mcq":
        options = row["options"]
        letter = row["answer_letter"] or CHOICE_LETTERS[options.index(answer)]
        return inline_mcq(question, options), lettered(letter, answer)
    if task == "caption":
        sentence = answer.strip().rstrip(".").strip().lower()
        return CAPTION_TRIGGER, f"The audio 1 is {sentence}."
    return question, answer


def _caption(captions: list[str] | None, index: int | None) -> str:
    if not captions:
        return ""
    return captions[index] if index is not None and 0 <= index < len(captions) else captions[0]
