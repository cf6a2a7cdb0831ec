"""Rows the trainer and the evaluator read, from every format they accept, as ``QaExample``.

- Our Parquet shards (``reasonaqa generate`` / ``build``), filtered by split.
- Mellow JSON (SPEC.md §1): our 8-key export, the authors' files with fewer keys (only
  ``filepath1``, ``filepath2``, ``input`` and ``answer`` are required; ``taskname``,
  ``caption1``, ``caption2`` and ``subtype`` default to empty) and files with extra keys
  (ignored, with one note per file). An empty ``filepath1`` is allowed, as in the authors'
  trainer: the dataset then puts a random clip of the set in slot 1.
- MMAU / MMAR benchmark JSON: ``question``, ``choices`` (2 to 8), ``answer`` (the option
  text), ``task``/``modality``, ``category`` and the audio under ``audio_id`` or
  ``audio_path``.

MCQ prompts carry their options inline (``question a) .. b) ..``, up to ``h)``) and the
target is ``b) option text``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reasonaqa.errors import InputError
from reasonaqa.mellow.instructions import DIFFERENCE_TRIGGERS
from reasonaqa.storage.mellow_records import (
    CHOICE_LETTERS,
    MELLOW_KEYS,
    MIN_CHOICES,
    answer_letter,
    inline_mcq,
    lettered,
    split_inline_options,
)
from reasonaqa.storage.shards import iter_batches, shard_paths

SHARD_COLUMNS = [
    "record_id",
    "split",
    "source",
    "task",
    "question",
    "answer",
    "options",
    "answer_letter",
    "audio_path",
    "audio_path_2",
]
REQUIRED_JSON_KEYS = ("filepath1", "filepath2", "input", "answer")
BENCHMARK_KEYS = ("question", "choices", "answer")
ENTAILMENT_PREFIX = "based on the audio, what can be said about the hypothesis"


@dataclass(frozen=True)
class QaExample:
    """One training or evaluation item, independent of where it was read from."""

    record_id: str
    task: str
    audio1: str  # "" only in Mellow JSON rows: a random clip fills slot 1
    audio2: str  # "" for single-audio rows
    prompt: str
    answer: str
    question: str = ""
    options: tuple[str, ...] = ()
    answer_letter: str | None = None
    gold: str = ""  # MCQ: the correct option's text
    caption1: str = ""
    caption2: str = ""
    source: str = ""  # subset (shards, JSON subtype) or benchmark task (MMAU)
    category: str = ""  # benchmark category (MMAU/MMAR)

    @property
    def entailment(self) -> bool:
        """An Audio Entailment row (CLE/ACE): scored by class as well as by accuracy."""
        return self.task == "mcq" and self.question.strip().lower().startswith(ENTAILMENT_PREFIX)


def with_options(example: QaExample, options: tuple[str, ...]) -> QaExample:
    """The MCQ with ``options`` in this order: inline prompt and a ``letter) text`` target."""
    letter = CHOICE_LETTERS[options.index(example.gold)]
    return replace(
        example,
        options=options,
        answer_letter=letter,
        prompt=inline_mcq(example.question, options),
        answer=lettered(letter, example.gold),
    )


def read_examples(paths: Iterable[Path], split: str | None) -> list[QaExample]:
    """Rows of every shard folder/file and JSON file; shard rows filtered by split."""
    examples: list[QaExample] = []
    for path in paths:
        path = Path(path)
        if path.suffix == ".json":
            examples += read_json(path)
        elif path.suffix == ".parquet" and path.is_file():
            examples += _read_shard(path, split)
        elif path.is_dir():
            folder = path / "data" if (path / "data").is_dir() else path
            files = shard_paths(folder)
            if not files:
                raise InputError("no .parquet shards in this folder", file=folder)
            for file in files:
                examples += _read_shard(file, split)
        else:
            raise InputError("not a shard folder, .parquet file or .json file", file=path)
    return examples


def _read_shard(path: Path, split: str | None) -> list[QaExample]:
    examples = []
    row_number = 0
    for batch in iter_batches([path], columns=SHARD_COLUMNS):
        for row in batch.to_pylist():
            if split is None or row["split"] == split:
                examples.append(_from_shard_row(row, path, row_number))
            row_number += 1
    return examples


def _check_choices(options: tuple[str, ...], gold: str, path: Path, number: int) -> None:
    if not MIN_CHOICES <= len(options) <= len(CHOICE_LETTERS):
        raise InputError(
            f"an MCQ needs {MIN_CHOICES} to {len(CHOICE_LETTERS)} options, found {len(options)}",
            file=path,
            row=number,
            field="options",
        )
    if gold not in options:
        raise InputError(
            "the answer is not one of the options", file=path, row=number, field="answer"
        )


def _from_shard_row(row: dict[str, Any], path: Path, number: int) -> QaExample:
    for column in ("question", "answer", "audio_path"):
        if not row[column]:
            raise InputError("empty value", file=path, row=number, field=column)
    base = QaExample(
        record_id=row["record_id"] or f"{path.name}:{number}",
        task=row["task"],
        audio1=row["audio_path"],
        audio2=row["audio_path_2"] or "",
        prompt=row["question"],
        answer=row["answer"],
        question=row["question"],
        source=row["source"] or "",
    )
    if row["task"] == "caption":  # the human caption: the target is built from it
        return replace(base, caption1=row["answer"])
    if row["task"] != "mcq":
        return base
    options = tuple(row["options"] or ())
    _check_choices(options, row["answer"], path, number)
    return with_options(replace(base, gold=row["answer"]), options)


def _read_rows(path: Path) -> list[Any]:
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"cannot read JSON: {err}", file=path) from None
    if not isinstance(rows, list):
        raise InputError("a JSON file of rows must hold a list of objects", file=path)
    return rows


def read_json(path: Path) -> list[QaExample]:
    """A Mellow JSON file, or an MMAU/MMAR benchmark file (told apart by its first row)."""
    rows = _read_rows(path)
    first = rows[0] if rows else {}
    if isinstance(first, dict) and all(key in first for key in BENCHMARK_KEYS):
        return [_from_benchmark_row(row, path, n) for n, row in enumerate(rows)]
    return _read_mellow_rows(rows, path)


def _read_mellow_rows(rows: list[Any], path: Path) -> list[QaExample]:
    examples = [_from_json_row(row, path, number) for number, row in enumerate(rows)]
    extra = sorted({k for row in rows for k in row} - set(MELLOW_KEYS))
    if extra:
        print(
            f"note: {path}: ignoring keys Mellow does not read: {', '.join(extra)}", file=sys.stderr
        )
    return examples


def _from_json_row(row: Any, path: Path, number: int) -> QaExample:
    if not isinstance(row, dict) or not set(REQUIRED_JSON_KEYS) <= set(row):
        found = sorted(row) if isinstance(row, dict) else type(row).__name__
        raise InputError(
            f"expected at least the keys {list(REQUIRED_JSON_KEYS)} (and optionally "
            f"{[k for k in MELLOW_KEYS if k not in REQUIRED_JSON_KEYS]}), found {found}",
            file=path,
            row=number,
        )
    values = {key: str(row.get(key) or "") for key in MELLOW_KEYS}
    if not values["input"].strip():
        raise InputError("empty value", file=path, row=number, field="input")
    task = _json_task(values)
    # The authors' files without caption keys: the caption row's answer is the caption.
    caption1 = values["caption1"] or (values["answer"] if task == "caption" else "")
    example = QaExample(
        record_id=f"{path.name}:{number}",
        task=task,
        audio1=values["filepath1"],
        audio2=values["filepath2"],
        prompt=values["input"],
        answer=values["answer"],
        question=values["input"],
        caption1=caption1,
        caption2=values["caption2"],
        source=values["subtype"].removesuffix(".json") or values["taskname"],
    )
    if example.task != "mcq":
        return example
    question, options = split_inline_options(values["input"]) or ("", ())
    letter = answer_letter(values["answer"])
    if letter is None or letter not in CHOICE_LETTERS[: len(options)]:
        raise InputError(
            "an MCQ answer must start with the letter of one of its options",
            file=path,
            row=number,
            field="answer",
        )
    gold = options[CHOICE_LETTERS.index(letter)]
    return replace(example, question=question, options=options, answer_letter=letter, gold=gold)


def _json_task(row: dict[str, str]) -> str:
    text = row["input"].strip().lower()
    if text.startswith("caption ") and text.endswith(("audio", "audios")):
        return "caption"
    if text in DIFFERENCE_TRIGGERS:
        return "difference"
    if re.match(r"^[a-h]\)", row["answer"].strip().lower()) and split_inline_options(text):
        return "mcq"
    if row["answer"].strip().lower() in ("yes", "no"):
        return "aqa"
    return "detail"


def _from_benchmark_row(row: Any, path: Path, number: int) -> QaExample:
    """One MMAU/MMAR item as an MCQ: the options inline, the target ``x) option``."""
    if not isinstance(row, dict):
        raise InputError("expected an object", file=path, row=number)
    for key in BENCHMARK_KEYS:
        if key not in row:
            raise InputError("missing key", file=path, row=number, field=key)
    audio = row.get("audio_path") or row.get("audio_id")
    if not isinstance(audio, str) or not audio.strip():
        raise InputError("no audio path", file=path, row=number, field="audio_id")
    choices = row["choices"]
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise InputError(
            "choices must be a list of strings", file=path, row=number, field="choices"
        )
    options = tuple(c.strip() for c in choices)
    gold = str(row["answer"]).strip()
    _check_choices(options, gold, path, number)
    base = QaExample(
        record_id=str(row.get("id") or f"{path.name}:{number}"),
        task="mcq",
        audio1=audio.strip().removeprefix("./"),
        audio2="",
        prompt="",
        answer="",
        question=str(row["question"]).strip(),
        gold=gold,
        source=str(row.get("task") or row.get("modality") or ""),
        category=str(row.get("category") or ""),
    )
    return with_options(base, options)
