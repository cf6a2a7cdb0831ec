"""Read any QA file into ``AuditRow``s, in input order: what ``reasonaqa check`` accepts.

- JSONL (``.jsonl``): one object a line with ``task`` (mcq or detail), ``question``,
  ``options`` (MCQ), ``answer`` (for an MCQ the option's text), optional ``captions`` and ``id``
  (``record_id`` serves too).
- Parquet (``.parquet``, or a folder of them such as a run folder, whose ``_``-named parts are
  left out as Parquet readers do): the same columns, e.g. a run's shards.
- A Mellow JSON export (a list of records with the eight ``MELLOW_KEYS``): an MCQ's options are
  inline in ``input`` (``question a) .. b) ..``) and its answer is ``b) text``; a row with inline
  options is an MCQ, any other a detailed question, checked against ``caption1``.
- An MMAU-format JSON (a list of objects with ``question``, ``choices`` and ``answer`` as
  option text): every row an MCQ, without captions. MMAU's own ``task`` field is kept as is.

Rows that are not LLM-written questions pass through unchecked, with a ``skipped`` note:
captioning, difference and other two-audio rows, ClothoAQA yes/no rows, entailment rows
(fixed options such as "I cannot determine") and rows of the other QA tasks.
Anything malformed is an ``InputError`` naming the file, the row (1-based) and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from reasonaqa.dataset.importers.adiff import TIERS as DIFFERENCE_TRIGGERS
from reasonaqa.dataset.importers.entailment import QUESTION as ENTAILMENT_QUESTION
from reasonaqa.errors import InputError
from reasonaqa.quality.audit import AuditRow
from reasonaqa.schemas import Task
from reasonaqa.storage.json_lines import iter_json_objects
from reasonaqa.storage.mellow_records import MELLOW_KEYS, answer_letter, split_inline_options

CHECKED_TASKS = ("mcq", "detail")
PASSED_THROUGH = {
    "caption": "captioning row",
    "aqa": "yes/no question (ClothoAQA)",
    "difference": "audio-difference row",
}
ENTAILMENT_PREFIX = ENTAILMENT_QUESTION.split("{", 1)[0]
# Mellow's captioning trigger inputs (SPEC §1), which its trainer rewrites into instructions.
CAPTION_TRIGGERS = ("caption first audio", "caption second audio", "caption both audios")


def read_qa_file(path: Path) -> Iterator[AuditRow]:
    """The rows of a JSONL, Parquet (file or folder), Mellow JSON or MMAU JSON file."""
    path = Path(path)
    if path.is_dir():
        return _parquet_folder(path)
    if not path.is_file():
        raise InputError("no such file or folder", file=path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _jsonl(path)
    if suffix == ".parquet":
        return _parquet_file(path)
    if suffix == ".json":
        return _json_list(path)
    raise InputError("unknown format: expected .jsonl, .parquet (or a folder of them) or .json")


# --- formats -------------------------------------------------------------------------------


def _jsonl(path: Path) -> Iterator[AuditRow]:
    for number, value in iter_json_objects(path):
        yield _plain_row(value, path, number)


def _parquet_folder(folder: Path) -> Iterator[AuditRow]:
    files = sorted(
        p
        for p in folder.rglob("*.parquet")
        if not any(part.startswith(("_", ".")) for part in p.relative_to(folder).parts)
    )
    if not files:
        raise InputError(
            "no Parquet files in the folder (parts named _* are left out)", file=folder
        )
    for path in files:
        yield from _parquet_file(path)


def _parquet_file(path: Path) -> Iterator[AuditRow]:
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as err:
        raise InputError(f"not a readable Parquet file ({err})", file=path) from err
    number = 0
    for batch in parquet.iter_batches(batch_size=4096):
        for value in batch.to_pylist():
            number += 1
            yield _plain_row(value, path, number)


def _json_list(path: Path) -> Iterator[AuditRow]:
    try:
        values = json.loads(path.read_bytes())
    except ValueError as err:
        raise InputError(f"not valid JSON ({err})", file=path) from err
    if not isinstance(values, list):
        raise InputError("expected a JSON list of records (Mellow or MMAU format)", file=path)
    if not values:
        return
    first = values[0]
    if isinstance(first, dict) and set(MELLOW_KEYS) <= first.keys():
        reader, expected = _mellow_row, "a Mellow record (the eight MELLOW_KEYS)"
    elif isinstance(first, dict) and "choices" in first:
        reader, expected = _mmau_row, "an MMAU item (question, choices, answer)"
    else:
        raise InputError(
            "row 1 is neither a Mellow record (taskname, filepath1, ..., subtype) nor an MMAU "
            "item (question, choices, answer)",
            file=path,
        )
    for number, value in enumerate(values, 1):
        if not isinstance(value, dict):
            raise InputError(f"not a JSON object; expected {expected}", file=path, row=number)
        yield reader(value, path, number)


# --- rows ----------------------------------------------------------------------------------


def _plain_row(value: dict[str, Any], path: Path, number: int) -> AuditRow:
    """A JSONL or Parquet row: the task is given."""
    task: Task | str = _text(value, "task", path, number)
    if task in PASSED_THROUGH:
        return AuditRow(value, None, skipped=f"{PASSED_THROUGH[task]}: not checked")
    if task not in CHECKED_TASKS:
        raise InputError(
            f"task {task!r}: expected mcq or detail (caption, aqa and difference rows pass "
            "through)",
            file=path,
            row=number,
            field="task",
        )
    question = _text(value, "question", path, number)
    if _is_entailment(question):
        return AuditRow(value, None, skipped="entailment row (fixed options): not checked")
    options = _options(value, "options", path, number) if task == "mcq" else []
    return AuditRow(
        value,
        task,  # type: ignore[arg-type]
        question=question,
        options=options,
        answer=_text(value, "answer", path, number),
        captions=_captions(value.get("captions"), path, number),
        id=str(value.get("id") or value.get("record_id") or ""),
    )


def _mellow_row(value: dict[str, Any], path: Path, number: int) -> AuditRow:
    """A Mellow record: MCQ when ``input`` lists inline options, a detailed question otherwise."""
    prompt = _text(value, "input", path, number)
    skipped = _mellow_skip(value, prompt)
    if skipped:
        return AuditRow(value, None, skipped=f"{skipped}: not checked")
    answer = _text(value, "answer", path, number)
    captions = [c for c in (value.get("caption1"),) if isinstance(c, str) and c.strip()]
    inline = split_inline_options(prompt)
    if inline is None:
        return AuditRow(value, "detail", question=prompt, answer=answer, captions=captions)
    question, options = inline
    if answer_letter(answer) is not None:
        answer = answer.split(")", 1)[1].strip()
    return AuditRow(
        value, "mcq", question=question, options=list(options), answer=answer, captions=captions
    )


def _mellow_skip(value: dict[str, Any], prompt: str) -> str | None:
    """Why a Mellow record is not an LLM-written question, or None when it is one."""
    lowered = prompt.strip().lower()
    if value.get("filepath2") or lowered in DIFFERENCE_TRIGGERS:
        return "two-audio or difference row"
    if lowered in CAPTION_TRIGGERS:
        return "captioning row"
    if str(value.get("taskname", "")).startswith("clotho_aqa"):
        return PASSED_THROUGH["aqa"]
    if _is_entailment(prompt):
        return "entailment row (fixed options)"
    return None


def _mmau_row(value: dict[str, Any], path: Path, number: int) -> AuditRow:
    return AuditRow(
        value,
        "mcq",
        question=_text(value, "question", path, number),
        options=_options(value, "choices", path, number),
        answer=_text(value, "answer", path, number),
        id=str(value.get("id") or ""),
    )


# --- fields --------------------------------------------------------------------------------


def _text(value: dict[str, Any], name: str, path: Path, number: int) -> str:
    text = value.get(name)
    if text is None:
        raise InputError("missing", file=path, row=number, field=name)
    if not isinstance(text, str):
        raise InputError(
            f"expected text, got {type(text).__name__}", file=path, row=number, field=name
        )
    return text


def _options(value: dict[str, Any], name: str, path: Path, number: int) -> list[str]:
    options = value.get(name)
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise InputError("expected a list of option texts", file=path, row=number, field=name)
    # check_mcq compares the answer with the distractors; one option leaves none.
    if len(options) < 2:
        raise InputError("an MCQ needs at least two options", file=path, row=number, field=name)
    return options


def _captions(captions: Any, path: Path, number: int) -> list[str]:
    if captions is None:
        return []
    if isinstance(captions, str):
        return [captions] if captions.strip() else []
    if isinstance(captions, list) and all(isinstance(c, str) for c in captions):
        return [c for c in captions if c.strip()]
    raise InputError("expected a list of caption texts", file=path, row=number, field="captions")


def _is_entailment(question: str) -> bool:
    return question.startswith(ENTAILMENT_PREFIX)
