"""Rows from shards and the Mellow JSON export become Mellow's prompts, answers and batches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from reasonaqa.errors import InputError
from reasonaqa.mellow.config import DataConfig, load_config
from reasonaqa.mellow.data import MellowDataset, collate, epoch_batches
from reasonaqa.mellow.examples import read_examples
from reasonaqa.mellow.language_model import load_tokenizer
from reasonaqa.mellow.scoring import letter_correct, mmau_correct, substring_correct
from reasonaqa.schemas import empty_row
from reasonaqa.storage.mellow_records import MELLOW_KEYS, split_inline_options
from reasonaqa.testing.shard_writer import ShardWriter

OPTIONS = ["a dog barking", "birds chirping", "a car engine", "heavy rain"]


def mcq_row(split: str = "train", **values: object) -> dict:
    row = {
        "record_id": "r1",
        "origin": "synthetic",
        "source": "Clotho-MCQ",
        "dataset": "clotho",
        "split": split,
        "clip_id": "c1",
        "audio_path": "a.wav",
        "captions": ["birds chirp"],
        "task": "mcq",
        "question": "What is heard?",
        "options": OPTIONS,
        "answer": "birds chirping",
        "answer_letter": "b",
    }
    row.update(values)
    return empty_row(**row)


def write(folder: Path, rows: list[dict]) -> Path:
    with ShardWriter(folder, "train") as writer:
        writer.write_many(rows)
    return folder


def json_row(**values: str) -> dict:
    row = dict.fromkeys(MELLOW_KEYS, "")
    row.update(taskname="clothov21", filepath1="a.wav", subtype="Clotho-MCQ.json")
    row.update(values)
    return row


def test_shard_mcq_becomes_inline_options_and_letter_target(tmp_path: Path) -> None:
    folder = write(tmp_path / "data", [mcq_row(), mcq_row("test", record_id="r2")])
    [example] = read_examples([tmp_path], "train")
    assert example.prompt == (
        "What is heard? a) a dog barking b) birds chirping c) a car engine d) heavy rain"
    )
    assert example.answer == "b) birds chirping" and example.gold == "birds chirping"
    assert len(read_examples([folder / "train-00000.parquet"], None)) == 2


@pytest.mark.parametrize(
    ("values", "field"),
    [
        # Issue 14: 2 to 8 options are valid now (MMAU/MMAR); one option is not.
        ({"options": OPTIONS[1:2]}, "options"),
        ({"answer": "a cat"}, "answer"),
        ({"question": ""}, "question"),
    ],
)
def test_bad_shard_rows_name_file_row_and_field(tmp_path: Path, values: dict, field: str) -> None:
    write(tmp_path, [mcq_row(record_id="ok"), mcq_row(**values)])
    with pytest.raises(InputError) as err:
        read_examples([tmp_path], "train")
    text = str(err.value)
    assert "train-00000.parquet" in text and "row 1" in text and repr(field) in text


def test_mellow_json_rows(tmp_path: Path) -> None:
    rows = [
        json_row(input="What is heard? a) rain b) birds c) wind d) cars", answer="b) birds"),
        json_row(input="caption first audio", caption1="Birds sing."),
        json_row(
            input="explain the difference in detail", filepath2="b.wav", answer="One is loud."
        ),
        json_row(input="is it raining?", answer="yes"),
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(rows))
    mcq, caption, difference, aqa = read_examples([path], "ignored for json")
    assert (mcq.task, mcq.options, mcq.answer_letter, mcq.gold) == (
        "mcq",
        ("rain", "birds", "wind", "cars"),
        "b",
        "birds",
    )
    assert caption.task == "caption" and difference.task == "difference" and aqa.task == "aqa"
    assert difference.audio2 == "b.wav"


def test_mellow_json_with_wrong_keys_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([json_row(input="q", answer="a"), {"input": "q"}]))
    # Issue 14: the authors' 6-key files and extra keys are read; a row without the
    # required keys is still one clear error (the message now says "at least").
    with pytest.raises(InputError, match=r"bad.json, row 1: expected at least the keys"):
        read_examples([path], None)


def test_split_inline_options() -> None:
    assert split_inline_options("Q? a) x y b) z c) w d) v") == ("Q?", ("x y", "z", "w", "v"))
    assert split_inline_options("no options here") is None


def test_epoch_batches_are_seeded_disjoint_and_rank_split() -> None:
    a = epoch_batches(23, 4, seed=1, epoch=0)
    assert a == epoch_batches(23, 4, seed=1, epoch=0) and a != epoch_batches(23, 4, seed=1, epoch=1)
    assert len(a) == 5 and all(len(b) == 4 for b in a)
    ranks = [[i for b in epoch_batches(23, 2, 1, 0, rank, 3) for i in b] for rank in range(3)]
    assert [len(r) for r in ranks] == [6, 6, 6]
    assert len(set(ranks[0]) | set(ranks[1]) | set(ranks[2])) == 18


@pytest.fixture
def dataset(tmp_path: Path) -> MellowDataset:
    pytest.importorskip("transformers")
    t = np.arange(8000) / 8000
    for name, freq in (("a.wav", 300), ("b.wav", 900)):
        sf.write(tmp_path / name, np.sin(2 * np.pi * freq * t).astype(np.float32), 8000)
    rows = [
        mcq_row(),
        mcq_row(
            record_id="r2",
            audio_path="b.wav",
            task="detail",
            options=[],
            answer="Birds are chirping loudly in the tall green trees.",
            answer_letter=None,
        ),
    ]
    write(tmp_path / "run" / "data", rows)
    config = DataConfig(
        audio_root=tmp_path, clip_seconds=2, prompt_tokens=32, answer_tokens=8, permute_options=True
    )
    return MellowDataset(
        read_examples([tmp_path / "run"], "train"), load_tokenizer("tiny"), config, 3, True
    )


def test_items_and_batches(dataset: MellowDataset) -> None:
    item = dataset[0]
    assert item.wave1.shape == (64_000,) and item.wave2.shape == (64_000,)
    assert len(item.prompt_ids) == 32 and item.prompt_ids[-1] == dataset.pad_id
    assert dataset.eos_id in item.prompt_ids and item.answer_ids[-1] == dataset.eos_id
    assert not np.array_equal(item.wave1, item.wave2)  # slot 2: the other clip of the set
    again = dataset[0]
    assert again.prompt_ids == item.prompt_ids and np.array_equal(again.wave1, item.wave1)
    text = dataset.tokenizer.decode(dataset[1].answer_ids[:-1])
    assert (
        text == "birds are chirping loudly in the tall green trees."[: len(text)]
        and len(dataset[1].answer_ids) == 8
    )
    batch = collate([dataset[0], dataset[1]], dataset.pad_id)
    assert batch.prompt.shape == (2, 32) and batch.answer_mask.sum(1).tolist() == [
        len(dataset[0].answer_ids),
        8,
    ]


def test_options_are_repermuted_per_epoch(dataset: MellowDataset) -> None:
    prompts = set()
    for epoch in range(8):
        dataset.set_epoch(epoch)
        item = dataset[0]
        prompt = dataset.tokenizer.decode(item.prompt_ids[: item.prompt_ids.index(dataset.eos_id)])
        # Issue 14: answers end with 216 (a lone space) then end-of-text, as the reference.
        answer = dataset.tokenizer.decode(item.answer_ids[:-2])
        letter, text = answer.split(") ", 1)
        assert text == "birds chirping" and f"{letter}) birds chirping" in prompt
        prompts.add(prompt)
    assert len(prompts) > 1


def test_scoring_rules() -> None:
    assert letter_correct("b) birds chirping", "b") and not letter_correct("a) rain", "b")
    assert mmau_correct("I hear birds chirping.", tuple(OPTIONS), "birds chirping")
    assert not mmau_correct("b", tuple(OPTIONS), "birds chirping")  # a bare letter scores zero
    assert not mmau_correct("birds chirping and a dog barking", tuple(OPTIONS), "birds chirping")
    assert substring_correct("Yes, it is.", "yes") and not substring_correct("No.", "yes")


def test_config_layers_and_errors(tmp_path: Path) -> None:
    config = load_config(None, ["train.batch_size=2", "optim.lr=0.01", "data.train=[a, b]"])
    assert config.train.batch_size == 2 and config.optim.lr == 0.01
    assert config.optim.warmup_steps == 10_000 and config.data.train == [Path("a"), Path("b")]
    user = tmp_path / "user.yaml"
    user.write_text("train:\n  batch_size: 0\n")
    with pytest.raises(InputError, match=r"user.yaml, column 'train.batch_size'"):
        load_config(user)
    with pytest.raises(InputError, match=r"section\.key=value"):
        load_config(None, ["nonsense"])
    with pytest.raises(InputError, match=r"'train\.bogus'"):
        load_config(None, ["train.bogus=1"])
