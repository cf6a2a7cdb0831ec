"""ADIFF audio-difference explanations (ACD, CLD): two audios, three tiers of detail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reasonaqa.dataset.importers.identity import (
    UniqueRecordIds,
    clip_id_for,
    dataset_named,
    row_clip_key,
)
from reasonaqa.errors import InputError
from reasonaqa.schemas import Dataset, empty_row
from reasonaqa.sources.csv_rows import read_csv_rows

COLUMNS = ("taskname", "filepath1", "filepath2", "caption1", "caption2", "input", "answer")
# The trigger input names the tier; Mellow's trainer reads the same strings.
TIERS = {
    "explain the difference in few words": 1,
    "explain the difference in a sentence": 2,
    "explain the difference in detail": 3,
}
PREFIXES: dict[Dataset, str] = {"audiocaps": "ACD", "clotho": "CLD"}


def read_adiff(path: Path, split: str, encoding: str = "utf-8") -> Iterator[dict[str, Any]]:
    """Yield one difference row per CSV row; ``source`` is ``ACD-<tier>`` or ``CLD-<tier>``."""
    path = Path(path)
    ids = UniqueRecordIds()
    for row in read_csv_rows(path, COLUMNS, encoding):
        dataset = _dataset(row.require("taskname"), path, row.number)
        trigger = row.require("input")
        tier = TIERS.get(trigger.lower())
        if tier is None:
            raise InputError(
                f"unknown trigger {trigger!r}; expected one of {list(TIERS)}",
                file=path,
                row=row.number,
                field="input",
            )
        first = row.require("filepath1")
        second = row.require("filepath2")
        caption1 = row.require("caption1")
        caption2 = row.require("caption2")
        answer = row.require("answer")
        source = f"{PREFIXES[dataset]}-{tier}"
        yield empty_row(
            record_id=ids(
                source,
                row_clip_key(dataset, first, split),
                row_clip_key(dataset, second, split),
                caption1,
                caption2,
                answer,
            ),
            origin="existing",
            source=source,
            dataset=dataset,
            split=split,
            clip_id=clip_id_for(dataset, first),
            audio_path=first,
            captions=[caption1],
            clip_id_2=clip_id_for(dataset, second),
            audio_path_2=second,
            captions_2=[caption2],
            task="difference",
            question=trigger.lower(),
            answer=answer,
        )


def _dataset(value: str, path: Path, row: int) -> Dataset:
    dataset = dataset_named(value)
    if dataset is None:
        raise InputError(f"unknown task name {value!r}", file=path, row=row, field="taskname")
    return dataset
