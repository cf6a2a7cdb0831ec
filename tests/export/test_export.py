"""Exports of a run: Mellow's eight-key JSON records and a Hugging Face parquet folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reasonaqa.dataset.merge import PartStream, merge_parts, tables_from_rows
from reasonaqa.dataset.splits import SplitGuard
from reasonaqa.errors import InputError
from reasonaqa.export.hf import export_hf
from reasonaqa.export.mellow import export_mellow, mellow_record
from reasonaqa.mellow.examples import read_examples
from reasonaqa.schemas import empty_row
from reasonaqa.storage.mellow_records import MELLOW_KEYS

OPTIONS = ["a dog barking", "birds chirping", "rain falling", "a car passing"]


def _row(**values: Any) -> dict[str, Any]:
    base = {
        "record_id": f"r-{values.get('clip_id', 'c')}-{values.get('task', 'detail')}",
        "origin": "synthetic",
        "source": "AudioCaps-MCQ",
        "dataset": "audiocaps",
        "split": "test",
        "clip_id": "6BJ455B1aAs",
        "audio_path": "Y6BJ455B1aAs.wav",
        "captions": ["A rocket flies by."],
        "task": "detail",
        "question": "What happens?",
        "answer": "A rocket flies by.",
    }
    return empty_row(**{**base, **values})


@pytest.mark.parametrize("count", [2, 5, 8])
def test_mcqs_of_any_size_round_trip_through_the_trainer_reader(count: int, tmp_path: Path) -> None:
    options = [f"option number {n}" for n in range(count)]
    record = mellow_record(
        _row(task="mcq", question="Which?", options=options, answer=options[-1], caption_index=0)
    )
    path = tmp_path / "one.json"
    path.write_text(json.dumps([record]), encoding="utf-8")
    (example,) = read_examples([path], None)
    assert example.options == tuple(options) and example.gold == options[-1]
    assert example.answer_letter == "abcdefgh"[count - 1]


def test_mcq_record() -> None:
    record = mellow_record(
        _row(
            task="mcq",
            question="What is heard?",
            options=OPTIONS,
            answer="birds chirping",
            answer_letter="b",
            caption_index=0,
        )
    )
    assert tuple(record) == MELLOW_KEYS
    assert record["input"] == (
        "What is heard? a) a dog barking b) birds chirping c) rain falling d) a car passing"
    )
    assert record["answer"] == "b) birds chirping"
    assert record["filepath1"] == "AudioCapsLarger/test/Y6BJ455B1aAs.wav"
    assert record["filepath2"] == ""
    assert record["taskname"] == "audiocaps"
    assert record["subtype"] == "AudioCaps-MCQ.json"
    assert record["caption1"] == "A rocket flies by."


def test_caption_difference_and_aqa_records() -> None:
    caption = mellow_record(
        _row(
            task="caption",
            source="Clotho-captions",
            dataset="clotho",
            split="val",
            clip_id="kettle 2.wav",
            audio_path="kettle 2.wav",
            captions=["One.", "A Kettle Whistles."],
            caption_index=1,
            answer="A Kettle Whistles.",
        )
    )
    assert caption["input"] == "caption first audio"
    assert caption["answer"] == "The audio 1 is a kettle whistles."
    assert caption["caption1"] == "A Kettle Whistles."
    assert caption["filepath1"] == "ClothoV21/validation/kettle 2.wav"
    assert caption["taskname"] == "clothov21"
    difference = mellow_record(
        _row(
            task="difference",
            source="ACD-2",
            split="val",
            question="explain the difference in a sentence",
            audio_path="AudioCapsLarger/val/Ya.wav",
            clip_id_2="b",
            audio_path_2="AudioCapsLarger/val/Yb.wav",
            captions_2=["Second."],
            answer="They differ.",
        )
    )
    assert difference["filepath2"] == "AudioCapsLarger/val/Yb.wav"
    assert difference["caption2"] == "Second."
    assert difference["input"] == "explain the difference in a sentence"
    assert difference["subtype"] == "ACD-2.json"
    aqa = mellow_record(
        _row(
            task="aqa",
            source="ClothoAQA",
            dataset="clotho",
            split="train",
            audio_path="x.wav",
            captions=[],
            question="Is it raining?",
            answer="yes",
        )
    )
    assert aqa["taskname"] == "clotho_aqa_train"
    assert aqa["filepath1"] == "ClothoV21/development/x.wav"
    assert (aqa["input"], aqa["answer"], aqa["caption1"]) == ("Is it raining?", "yes", "")


@pytest.fixture
def run(tmp_path: Path) -> Path:
    rows = [
        _row(
            clip_id="tr1",
            split="train",
            task="mcq",
            options=OPTIONS,
            answer="rain falling",
            answer_letter="c",
        ),
        _row(clip_id="tr2", split="train"),
        _row(
            clip_id="va1",
            split="val",
            task="mcq",
            options=OPTIONS,
            answer="a dog barking",
            answer_letter="a",
        ),
        _row(clip_id="te1", split="test"),
    ]
    root = tmp_path / "run"
    merge_parts([PartStream("rows", lambda: tables_from_rows(rows))], root, guard=SplitGuard())
    return root


def test_export_mellow_writes_three_json_lists(run: Path, tmp_path: Path) -> None:
    counts = export_mellow(run, tmp_path / "mellow")
    assert counts == {"train": 2, "val": 1, "test": 1}
    train = json.loads((tmp_path / "mellow/train.json").read_text(encoding="utf-8"))
    assert [sorted(record) for record in train] == [sorted(MELLOW_KEYS)] * 2
    assert train[0]["answer"] == "c) rain falling"
    assert all(isinstance(value, str) for record in train for value in record.values())


def test_export_hf_loads_with_datasets(run: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "hf"
    assert export_hf(run, out) == {"train": 2, "validation": 1, "test": 1}
    loaded = datasets.load_dataset("parquet", data_dir=str(out), cache_dir=str(tmp_path / "cache"))
    assert {name: len(split) for name, split in loaded.items()} == {
        "train": 2,
        "validation": 1,
        "test": 1,
    }
    mcq = loaded["train"][0]
    assert mcq["choices"] == OPTIONS
    assert mcq["answer"] == "rain falling"  # the option text, never the letter
    assert mcq["answer"] in mcq["choices"]
    # A second export replaces the folder whole, when asked to.
    export_hf(run, out, overwrite=True)
    assert sorted(p.name for p in (out / "data").iterdir()) == [
        "test-00000.parquet",
        "train-00000.parquet",
        "validation-00000.parquet",
    ]


def test_export_of_a_folder_without_data_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="data/"):
        export_mellow(tmp_path / "empty", tmp_path / "out")
