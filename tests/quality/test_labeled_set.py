"""The checks on the hand-labeled set: no good item rejected, most defects caught per kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reasonaqa.errors import InputError
from reasonaqa.testing.labeled import GOOD, LabeledItem, read_labeled, score

LABELED = Path(__file__).resolve().parents[1] / "data" / "quality_labeled.jsonl"
# The defects of issue 15, each with its own share of the set.
NEW_KINDS = {"visual", "world_knowledge", "options_paraphrase", "distractor_also_correct"}
MIN_RECALL_ALL = 0.85
MIN_RECALL_KIND = 0.5


@pytest.fixture(scope="module")
def items() -> list[LabeledItem]:
    return read_labeled(LABELED)


def test_set_is_half_good_and_covers_every_new_kind(items: list[LabeledItem]) -> None:
    labels = [item.label for item in items]
    assert len(items) >= 150
    assert labels.count(GOOD) * 2 == len(items)
    assert all(labels.count(kind) >= 10 for kind in NEW_KINDS | {"text_leak"})
    assert len({item.id for item in items}) == len(items)


def test_no_good_item_is_rejected(items: list[LabeledItem]) -> None:
    assert score(items).false_rejects == {}


def test_recall_overall_and_per_kind(items: list[LabeledItem]) -> None:
    result = score(items)
    per_kind = {label: result.recall(label) for label in result.items if label != GOOD}
    assert result.defect_recall() >= MIN_RECALL_ALL, per_kind
    assert all(recall > MIN_RECALL_KIND for recall in per_kind.values()), per_kind


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('{"id": "x", "label": "good", "task": "mcq", "question": 3}', "question"),
        ('{"id": "x", "label": "blurry", "task": "mcq", "question": "q"}', "label"),
        ('{"id": "x", "label": "good", "task": "essay", "question": "q"}', "task"),
        (
            '{"id": "x", "label": "good", "task": "mcq", "question": "q", "answer": "a", '
            '"captions": [], "options": "a b"}',
            "options",
        ),
    ],
)
def test_bad_row_names_file_row_and_field(tmp_path: Path, line: str, field: str) -> None:
    path = tmp_path / "set.jsonl"
    good = {"id": "g", "label": "good", "task": "detail", "question": "q", "answer": "a"}
    path.write_text(json.dumps({**good, "captions": []}) + "\n" + line + "\n")
    with pytest.raises(InputError) as err:
        read_labeled(path)
    assert (err.value.row, err.value.field) == (2, field)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_not_json_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text("\n{not json\n")
    with pytest.raises(InputError, match="row 2"):
        read_labeled(path)
