"""Hand-labeled items and how the deterministic checks score on them.

A labeled set is JSONL, one item a line: ``id``, ``label`` ("good" or the reason code the
item should get), ``task`` ("mcq" or "detail"), ``question``, ``options`` (MCQ only),
``answer`` and ``captions``. ``score`` counts, per label, how many items the checks treat
as labeled: a good item passes every check, a defective one gets its code (among others).
``tests/data/quality_labeled.jsonl`` is the project's set; the tests hold the checks to it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasonaqa.errors import InputError
from reasonaqa.quality.checks import REASONS, check_detail, check_mcq
from reasonaqa.schemas import DetailItem, McqItem
from reasonaqa.storage.json_lines import iter_json_objects

GOOD = "good"


@dataclass(frozen=True)
class LabeledItem:
    """One item of a labeled set."""

    id: str
    label: str
    task: str
    question: str
    answer: str
    captions: tuple[str, ...]
    options: tuple[str, ...] = ()

    def codes(self) -> list[str]:
        """The reason codes the checks give this item."""
        if self.task == "mcq":
            mcq = McqItem.model_construct(
                question=self.question,
                options=list(self.options),
                answer=self.answer,
                focus="sound_events",
            )
            return check_mcq(mcq, list(self.captions))
        detail = DetailItem.model_construct(
            question=self.question, answer=self.answer, focus="semantics"
        )
        return check_detail(detail, list(self.captions))


@dataclass
class Score:
    """Per label: items, and items the checks got right; every good item they rejected."""

    items: Counter[str] = field(default_factory=Counter)
    right: Counter[str] = field(default_factory=Counter)
    false_rejects: dict[str, list[str]] = field(default_factory=dict)

    def recall(self, label: str) -> float:
        return self.right[label] / self.items[label]

    def defect_recall(self) -> float:
        defects = [label for label in self.items if label != GOOD]
        return sum(self.right[x] for x in defects) / sum(self.items[x] for x in defects)


def score(items: list[LabeledItem]) -> Score:
    result = Score()
    for item in items:
        codes = item.codes()
        result.items[item.label] += 1
        if item.label == GOOD and codes:
            result.false_rejects[item.id] = codes
        elif item.label == GOOD or item.label in codes:
            result.right[item.label] += 1
    return result


def read_labeled(path: Path) -> list[LabeledItem]:
    """Items of a labeled JSONL file; bad input is an ``InputError`` naming row and field."""
    return [_item(path, row, data) for row, data in iter_json_objects(path)]


def _item(path: Path, row: int, data: dict[str, Any]) -> LabeledItem:
    text = {name: _text(path, row, data, name) for name in ("id", "label", "task", "question")}
    if text["label"] != GOOD and text["label"] not in REASONS:
        raise InputError(f"unknown label {text['label']!r}", file=path, row=row, field="label")
    if text["task"] not in ("mcq", "detail"):
        raise InputError("task must be 'mcq' or 'detail'", file=path, row=row, field="task")
    return LabeledItem(
        **text,
        answer=_text(path, row, data, "answer"),
        captions=_texts(path, row, data, "captions"),
        options=_texts(path, row, data, "options") if text["task"] == "mcq" else (),
    )


def _text(path: Path, row: int, data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise InputError("missing or not a string", file=path, row=row, field=name)
    return value


def _texts(path: Path, row: int, data: dict[str, Any], name: str) -> tuple[str, ...]:
    value = data.get(name)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError("missing or not a list of strings", file=path, row=row, field=name)
    return tuple(value)
