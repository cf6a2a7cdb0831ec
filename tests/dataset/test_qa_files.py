"""``reasonaqa check`` reads every supported format, keeps row order and fields, and refuses
malformed input with one line naming file, row and field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from reasonaqa.dataset.qa_files import read_qa_file
from reasonaqa.engine.audit import audit
from reasonaqa.errors import InputError
from reasonaqa.export.mellow import mellow_record
from reasonaqa.schemas import empty_row

GOOD_MCQ = {
    "task": "mcq",
    "question": "Which animal can be heard barking in this recording?",
    "options": ["a dog", "a cat", "a cow", "a horse"],
    "answer": "a dog",
    "captions": ["A dog barks twice in a yard."],
}
LEAKY_DETAIL = {
    "task": "detail",
    "question": "According to the caption, what is heard here?",
    "answer": "A dog barks twice near the microphone while cars pass by.",
}
FIVE_OPTIONS = {
    "task": "mcq",
    "question": "Which sound is heard near the start of the recording?",
    "options": ["rain falling", "wind blowing", "a car passing", "birds singing", "a train"],
    "answer": "rain falling",
}
CAPTION_ROW = {"task": "caption", "question": "", "answer": "A dog barks."}
ROWS = [GOOD_MCQ, LEAKY_DETAIL, FIVE_OPTIONS, CAPTION_ROW]
EXPECTED = [[], ["text_leak"], ["options_count"], []]


def _checked(path: Path, tmp_path: Path) -> list[dict[str, Any]]:
    out = tmp_path / "out.jsonl"
    audit(read_qa_file(path), out)
    return [json.loads(line) for line in out.read_text().splitlines()]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_jsonl_keeps_order_and_every_field(tmp_path: Path) -> None:
    rows = [row | {"extra": i, "id": f"r{i}"} for i, row in enumerate(ROWS)]
    out = _checked(_write_jsonl(tmp_path / "in.jsonl", rows), tmp_path)
    assert [row["reasons"] for row in out] == EXPECTED
    for given, written in zip(rows, out, strict=True):
        assert {k: v for k, v in written.items() if k not in ("reasons", "skipped")} == given
    assert out[3]["skipped"].startswith("captioning row")


def test_parquet_file_and_run_folder(tmp_path: Path) -> None:
    frame = pd.DataFrame([r | {"captions": r.get("captions", [])} for r in ROWS])
    frame["options"] = [r.get("options", []) for r in ROWS]
    frame.to_parquet(tmp_path / "qa.parquet")
    out = _checked(tmp_path / "qa.parquet", tmp_path)
    assert [row["reasons"] for row in out] == EXPECTED
    assert [row["question"] for row in out] == [r["question"] for r in ROWS]

    run = tmp_path / "run"
    (run / "data").mkdir(parents=True)
    (run / "_rejected").mkdir()
    frame.iloc[:2].to_parquet(run / "data" / "train-00000.parquet")
    frame.iloc[2:].to_parquet(run / "data" / "val-00000.parquet")
    frame.to_parquet(run / "_rejected" / "rejected-00000.parquet")  # left out, as pandas does
    assert [row["reasons"] for row in _checked(run, tmp_path)] == EXPECTED


def test_mellow_export_records_are_parsed_back(tmp_path: Path) -> None:
    def qa(**values: Any) -> dict[str, Any]:
        base = {"dataset": "clotho", "split": "test", "audio_path": "x.wav", "caption_index": 0}
        return empty_row(**(base | values))

    records = [
        mellow_record(
            qa(
                source="Clotho-MCQ",
                task="mcq",
                captions=GOOD_MCQ["captions"],
                question=GOOD_MCQ["question"],
                options=["a cat", "a dog", "a cow", "a horse"],
                answer="a dog",
                answer_letter="b",
            )
        ),
        mellow_record(
            qa(
                source="Clotho-Detail",
                task="detail",
                captions=["A dog barks."],
                question=LEAKY_DETAIL["question"],
                answer=LEAKY_DETAIL["answer"],
            )
        ),
        mellow_record(qa(source="Clotho", task="caption", captions=["A dog."], answer="A dog.")),
    ]
    path = tmp_path / "test.json"
    path.write_text(json.dumps(records))
    rows = list(read_qa_file(path))
    assert rows[0].task == "mcq" and rows[0].question == GOOD_MCQ["question"]
    assert rows[0].options == ["a cat", "a dog", "a cow", "a horse"]
    assert rows[0].answer == "a dog" and rows[0].captions == GOOD_MCQ["captions"]
    assert rows[1].task == "detail" and rows[2].task is None
    out = _checked(path, tmp_path)
    assert [row["reasons"] for row in out] == [[], ["text_leak"], []]
    assert [{k: row[k] for k in records[0]} for row in out] == records


def test_mmau_items_with_two_to_eight_choices(tmp_path: Path) -> None:
    items = [
        {
            "id": f"m{n}",
            "question": "Which instrument plays the melody in this clip?",
            "choices": [f"instrument number {i}" for i in range(n)],
            "answer": "instrument number 1",
            "task": "music",
            "category": "Instrument Identification",
        }
        for n in range(2, 9)
    ]
    path = tmp_path / "mmau.json"
    path.write_text(json.dumps(items))
    out = _checked(path, tmp_path)
    assert [row["id"] for row in out] == [item["id"] for item in items]
    assert all(row["task"] == "music" for row in out), "MMAU's own fields are kept"
    assert [row["reasons"] == [] for row in out] == [n == 4 for n in range(2, 9)]
    assert all("options_count" in row["reasons"] for row in out if len(row["choices"]) != 4)


@pytest.mark.parametrize(
    ("content", "suffix", "where"),
    [
        ('{"task": "mcq", "question": "q", "answer": "a"}\n', ".jsonl", "row 1, column 'options'"),
        ('{"task": "mcq"}\n', ".jsonl", "row 1, column 'question'"),
        ('\n{"task": "quiz", "question": "q", "answer": "a"}\n', ".jsonl", "row 2, column 'task'"),
        ("[1, 2]\n", ".jsonl", "row 1: not a JSON object"),
        ("{not json\n", ".jsonl", "row 1: not valid JSON"),
        ('[{"question": "q", "choices": ["a"], "answer": "a"}]', ".json", "column 'choices'"),
        ('[{"question": "q", "answer": "a"}]', ".json", "neither a Mellow record"),
        ('{"a": 1}', ".json", "expected a JSON list"),
        ("a,b\n", ".csv", "unknown format"),
        ("not parquet", ".parquet", "not a readable Parquet file"),
    ],
)
def test_bad_input_names_file_row_and_field(
    tmp_path: Path, content: str, suffix: str, where: str
) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(content)
    with pytest.raises(InputError, match=where):
        list(read_qa_file(path))


def test_cli_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "in.jsonl", [GOOD_MCQ, {"task": "mcq", "question": "q"}])
    proc = subprocess.run(
        [sys.executable, "-m", "reasonaqa", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {path}, row 2, column 'options': expected a list of option texts"
    ]
    assert not (tmp_path / "in.checked.jsonl").exists()


def test_cli_writes_beside_the_input_and_summarises_by_reason(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "in.jsonl", ROWS)
    proc = subprocess.run(
        [sys.executable, "-m", "reasonaqa", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "checked 4 rows: 1 pass, 2 with reasons, 1 skipped" in proc.stdout
    assert "text_leak" in proc.stdout and "options_count" in proc.stdout
    assert len((tmp_path / "in.checked.jsonl").read_text().splitlines()) == 4
