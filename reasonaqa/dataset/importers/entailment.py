"""Audio Entailment (CLE, ACE): one four-option MCQ per hypothesis, three per CSV row."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reasonaqa.dataset.importers.identity import (
    UniqueRecordIds,
    audiocaps_audio_name,
    clip_id_for,
    dataset_named,
    row_clip_key,
)
from reasonaqa.errors import InputError
from reasonaqa.schemas import LETTERS, Dataset, empty_row
from reasonaqa.sources.csv_rows import read_csv_rows

COLUMNS = ("Dataset", "Audio file", "Caption", "Entailment", "Neutral", "Contradiction")
OPTIONS = [
    "It is definitely true",
    "It is definitely false",
    "It is plausible",
    "I cannot determine",
]
# The released set's letters: entailment -> a, contradiction -> b, neutral -> c (SPEC §1).
HYPOTHESES = (("Entailment", "a"), ("Neutral", "c"), ("Contradiction", "b"))
QUESTION = 'Based on the audio, what can be said about the hypothesis - "{hypothesis}"?'
SOURCES: dict[Dataset, str] = {"clotho": "CLE", "audiocaps": "ACE"}


def read_entailment(path: Path, split: str, encoding: str = "utf-8") -> Iterator[dict[str, Any]]:
    """Yield three MCQ rows per CSV row, in the CSV's column order."""
    path = Path(path)
    ids = UniqueRecordIds()
    for row in read_csv_rows(path, COLUMNS, encoding):
        dataset = _dataset(row.require("Dataset"), path, row.number)
        name = row.require("Audio file")
        clip_id = clip_id_for(dataset, name)
        identity = row_clip_key(dataset, name, split)
        captions = _captions(row.require("Caption"), path, row.number)
        source = SOURCES[dataset]
        for column, letter in HYPOTHESES:
            hypothesis = row.require(column)
            answer = OPTIONS[LETTERS.index(letter)]
            yield empty_row(
                record_id=ids(source, identity, captions, column, hypothesis),
                origin="existing",
                source=source,
                dataset=dataset,
                split=split,
                clip_id=clip_id,
                audio_path=audiocaps_audio_name(clip_id) if dataset == "audiocaps" else name,
                captions=captions,
                task="mcq",
                question=QUESTION.format(hypothesis=hypothesis),
                options=list(OPTIONS),
                answer=answer,
                answer_letter=letter,
            )


def _captions(value: str, path: Path, row: int) -> list[str]:
    """Clotho rows hold a Python-list string of five captions; AudioCaps rows one caption."""
    if not value.startswith("["):
        return [value]
    try:
        parsed = ast.literal_eval(value)  # a literal only: never eval() file contents
    except (ValueError, SyntaxError) as err:
        raise InputError(f"not a list literal: {err}", file=path, row=row, field="Caption") from err
    if not isinstance(parsed, list) or not all(isinstance(c, str) for c in parsed) or not parsed:
        raise InputError(
            "expected a non-empty list of strings", file=path, row=row, field="Caption"
        )
    return [c.strip() for c in parsed]


def _dataset(value: str, path: Path, row: int) -> Dataset:
    dataset = dataset_named(value)
    if dataset is None:
        raise InputError(f"unknown dataset {value!r}", file=path, row=row, field="Dataset")
    return dataset
