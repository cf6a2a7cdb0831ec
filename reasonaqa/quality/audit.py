"""One row of any QA file, and its deterministic verdict: what ``reasonaqa check`` audits.

An ``AuditRow`` is what the readers (``dataset.qa_files``) make of an input row: the task,
the question, options, answer and captions to check, an id, and the input's own fields,
which the output keeps. ``deterministic_reasons`` runs the very checks ``generate`` runs on
an LLM reply (``checks.check_mcq`` / ``checks.check_detail``), on the row as written: MCQs
with other than four options get ``options_count`` rather than failing a contract.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from reasonaqa.quality import checks
from reasonaqa.schemas import DetailItem, McqItem

AuditTask = Literal["mcq", "detail"]


@dataclass
class AuditRow:
    """An input row to check; ``task`` is None for a row passed through unchecked
    (``skipped`` says why, e.g. a captioning row)."""

    fields: dict[str, Any]
    task: AuditTask | None
    question: str = ""
    options: list[str] = field(default_factory=list)
    answer: str = ""
    captions: list[str] = field(default_factory=list)
    id: str = ""
    skipped: str | None = None

    def __post_init__(self) -> None:
        if not self.id:  # no id in the file: one from the content, stable across reruns
            blob = orjson.dumps([self.task, self.question, self.options, self.answer])
            self.id = hashlib.sha1(blob).hexdigest()[:20]


def as_item(row: AuditRow) -> McqItem | DetailItem:
    """The row as the contract object ``generate`` checks, stripped as the contract strips,
    but not validated: a row that breaks the contract is checked and reported, not refused."""
    focus = row.fields.get("focus")
    if row.task == "mcq":
        return McqItem.model_construct(
            question=row.question.strip(),
            options=[o.strip() for o in row.options],
            answer=row.answer.strip(),
            focus=focus,
        )
    return DetailItem.model_construct(
        question=row.question.strip(), answer=row.answer.strip(), focus=focus
    )


def deterministic_reasons(row: AuditRow) -> list[str]:
    """The reason codes that fire on the row, in ``checks.REASONS`` order; [] passes."""
    if row.task is None:
        return []
    item = as_item(row)
    if isinstance(item, McqItem):
        return checks.check_mcq(item, row.captions)
    return checks.check_detail(item, row.captions)
