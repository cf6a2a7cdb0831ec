"""ClothoAQA: three annotator rows per question, reduced to the majority answer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reasonaqa.dataset.importers.identity import UniqueRecordIds, clip_id_for, row_clip_key
from reasonaqa.schemas import empty_row
from reasonaqa.sources.csv_rows import read_csv_rows

COLUMNS = ("file_name", "QuestionText", "answer")
SOURCE = "ClothoAQA"


def read_clotho_aqa(
    path: Path, split: str, min_agreement: float = 0.0, encoding: str = "utf-8"
) -> Iterator[dict[str, Any]]:
    """Yield one ``aqa`` row per question with a strict majority answer.

    ``agreement`` is the share of annotators who gave that answer. Questions whose top
    answers tie have no majority and are left out, as are those below ``min_agreement``.
    Answers are compared lowercased without trailing punctuation ("Yes." is "yes").
    """
    path = Path(path)
    ids = UniqueRecordIds()
    answers: dict[tuple[str, str], list[str]] = {}
    # Grouped over the whole file: annotator rows of a question need not be adjacent.
    for row in read_csv_rows(path, COLUMNS, encoding):
        key = (
            row.require("file_name"),
            row.require("QuestionText"),
        )
        answers.setdefault(key, []).append(_normalise(row.require("answer")))
    for (file_name, question), given in answers.items():
        ranked = Counter(given).most_common(2)
        if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
            continue
        answer, votes = ranked[0]
        agreement = votes / len(given)
        if agreement < min_agreement:
            continue
        yield empty_row(
            record_id=ids(SOURCE, row_clip_key("clotho", file_name, split), question),
            origin="existing",
            source=SOURCE,
            dataset="clotho",
            split=split,
            clip_id=clip_id_for("clotho", file_name),
            audio_path=file_name,
            captions=[],
            task="aqa",
            question=question,
            answer=answer,
            agreement=round(agreement, 4),
        )


def _normalise(answer: str) -> str:
    return answer.strip().rstrip(".!?").strip().lower()
