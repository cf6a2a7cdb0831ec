"""Mellow's released ReasonAQA record format: one JSON list per split, eight keys a record.

MCQ inputs carry their options inline (``question a) .. b) .. c) .. d) ..``) and answers
begin with the letter (``b) chirping birds``); captioning and difference rows use the
trigger inputs that Mellow's trainer rewrites into instructions (SPEC.md §1).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from reasonaqa.atomic import atomic_path
from reasonaqa.config import RunPaths
from reasonaqa.recipe import SPLIT_NAMES
from reasonaqa.schemas import LETTERS
from reasonaqa.shards import iter_batches
from reasonaqa.split_shards import shards_by_split

MELLOW_KEYS = (
    "taskname",
    "filepath1",
    "filepath2",
    "caption1",
    "caption2",
    "input",
    "answer",
    "subtype",
)
AUDIO_FOLDERS = {"audiocaps": "AudioCapsLarger", "clotho": "ClothoV21"}
# Mellow lays audio out by source split; output split names map back to them.
SPLIT_FOLDERS = {
    "audiocaps": {"train": "train", "val": "val", "test": "test"},
    "clotho": {"train": "development", "val": "validation", "test": "evaluation"},
}
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


def export_mellow(run: Path, out: Path) -> dict[str, int]:
    """Write ``out/<split>.json`` for each split of the run (train, val, test at least).

    Returns records written per split. Each file is streamed and renamed into place whole.
    """
    shards = shards_by_split(RunPaths(Path(run)).data)
    counts: dict[str, int] = {}
    for split in sorted(set(SPLIT_NAMES) | set(shards)):
        counts[split] = _write_split(shards.get(split, []), Path(out) / f"{split}.json")
    return counts


def _write_split(paths: list[Path], target: Path) -> int:
    count = 0
    with atomic_path(target) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write("[")
        for record in _records(paths):
            fh.write(",\n" if count else "\n")
            fh.write(json.dumps(record, ensure_ascii=False))
            count += 1
        fh.write("\n]\n")
    return count


def _records(paths: list[Path]) -> Iterator[dict[str, str]]:
    for batch in iter_batches(paths, columns=COLUMNS, batch_size=16_384):
        for row in batch.to_pylist():
            yield mellow_record(row)


def mellow_record(row: dict[str, Any]) -> dict[str, str]:
    """One QA row (a dict of QA columns) as a Mellow record."""
    dataset, split, source = row["dataset"], row["split"], row["source"]
    prompt, answer = _prompt_and_answer(row)
    taskname = f"clotho_aqa_{split}" if row["task"] == "aqa" else TASKNAMES[dataset]
    return {
        "taskname": taskname,
        "filepath1": mellow_path(dataset, split, row["audio_path"]),
        "filepath2": mellow_path(dataset, split, row["audio_path_2"]),
        "caption1": _caption(row["captions"], row["caption_index"]),
        "caption2": _caption(row["captions_2"], None),
        "input": prompt,
        "answer": answer,
        "subtype": f"{source}.json",
    }


def mellow_path(dataset: str, split: str, audio_path: str | None) -> str:
    """``AudioCapsLarger/test/Y<id>.wav`` style: Mellow's folder layout, the file's own name."""
    if not audio_path:
        return ""
    folder = SPLIT_FOLDERS[dataset].get(split, split)
    return f"{AUDIO_FOLDERS[dataset]}/{folder}/{PurePosixPath(audio_path).name}"


def _prompt_and_answer(row: dict[str, Any]) -> tuple[str, str]:
    task, question, answer = row["task"], row["question"], row["answer"]
    if task == "mcq":
        options = row["options"]
        inline = " ".join(
            f"{letter}) {text}" for letter, text in zip(LETTERS, options, strict=True)
        )
        letter = row["answer_letter"] or LETTERS[options.index(answer)]
        return f"{question} {inline}", f"{letter}) {answer}"
    if task == "caption":
        sentence = answer.strip().rstrip(".").strip().lower()
        return CAPTION_TRIGGER, f"The audio 1 is {sentence}."
    return question, answer


def _caption(captions: list[str] | None, index: int | None) -> str:
    if not captions:
        return ""
    return captions[index] if index is not None and 0 <= index < len(captions) else captions[0]
