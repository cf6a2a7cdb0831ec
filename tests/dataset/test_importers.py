"""Importers of existing QA: exact counts on the real release files, field-by-field rows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from reasonaqa.dataset.importers.adiff import read_adiff
from reasonaqa.dataset.importers.captions import CAPTION_QUESTION, caption_rows
from reasonaqa.dataset.importers.clotho_aqa import read_clotho_aqa
from reasonaqa.dataset.importers.entailment import OPTIONS, read_entailment
from reasonaqa.errors import InputError
from reasonaqa.schemas import QARow
from reasonaqa.sources.manifests import build_manifest, read_manifest

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DATA = REPO / "recipes" / "sample_data"


def _valid(rows: list[dict]) -> None:
    """Every row fits the shard schema and has a unique id."""
    for row in rows[:50]:
        QARow.model_validate(row)
    assert len({row["record_id"] for row in rows}) == len(rows)
    assert {row["origin"] for row in rows} == {"existing"}


def test_clotho_entailment_validation_counts_and_fields(shared_data: Path) -> None:
    rows = list(read_entailment(shared_data / "entailment/clotho_entailment_validation.csv", "val"))
    assert len(rows) == 3_135  # 1,045 CSV rows, three hypotheses each
    _valid(rows)
    assert Counter(row["answer_letter"] for row in rows) == {"a": 1045, "b": 1045, "c": 1045}
    first, neutral, contradiction = rows[:3]
    assert first["source"] == "CLE"
    assert first["dataset"] == "clotho"
    assert first["split"] == "val"
    assert (
        first["clip_id"] == "noisy stuff groceries paper bag cookie metallic case cling clang.wav"
    )
    assert first["audio_path"] == first["clip_id"]
    assert first["task"] == "mcq"
    assert len(first["captions"]) == 5
    assert (
        first["captions"][1]
        == "two metallic objects hitting each other as a person is walking around"
    )
    assert first["question"] == (
        'Based on the audio, what can be said about the hypothesis - "A person is interacting'
        ' with metal objects, possibly in a kitchen."?'
    )
    assert first["options"] == OPTIONS
    assert (first["answer"], first["answer_letter"]) == ("It is definitely true", "a")
    assert (neutral["answer"], neutral["answer_letter"]) == ("It is plausible", "c")
    assert "chef is searching" in neutral["question"]
    assert (contradiction["answer"], contradiction["answer_letter"]) == (
        "It is definitely false",
        "b",
    )


def test_audiocaps_entailment_test_counts_and_fields(shared_data: Path) -> None:
    rows = list(read_entailment(shared_data / "entailment/audiocaps_entailment_test.csv", "test"))
    assert len(rows) == 14_625  # 4,875 CSV rows
    _valid(rows)
    assert {row["source"] for row in rows} == {"ACE"}
    assert len({row["clip_id"] for row in rows}) == 975
    first = rows[0]
    assert first["dataset"] == "audiocaps"
    assert first["clip_id"] == "7fmOlUlwoNg"  # the leading Y of the file name removed
    assert first["audio_path"] == "Y7fmOlUlwoNg.wav"
    assert first["captions"] == ["Constant rattling noise and sharp vibrations"]
    assert first["question"].endswith('"There is a persistent mechanical noise present."?')
    assert first["answer_letter"] == "a"


@pytest.mark.parametrize(
    ("name", "source", "trigger"),
    [
        ("acd_val_adiff_fewwords_answer.csv", "ACD-1", "explain the difference in few words"),
        ("acd_val_adiff_sentence_answer.csv", "ACD-2", "explain the difference in a sentence"),
        ("acd_val_adiff_detail_answer.csv", "ACD-3", "explain the difference in detail"),
    ],
)
def test_acd_validation_tiers(shared_data: Path, name: str, source: str, trigger: str) -> None:
    rows = list(read_adiff(shared_data / "adiff" / name, "val"))
    assert len(rows) == 2_456
    _valid(rows)
    first = rows[0]
    assert first["source"] == source
    assert first["question"] == trigger
    assert first["task"] == "difference"
    assert first["dataset"] == "audiocaps"
    assert (first["clip_id"], first["clip_id_2"]) == ("vfY_TJq7n_U", "vtnWVwQGvg4")
    assert first["audio_path"] == "AudioCapsLarger/val/YvfY_TJq7n_U.wav"
    assert first["audio_path_2"] == "AudioCapsLarger/val/YvtnWVwQGvg4.wav"
    assert first["captions_2"] == ["A goat baaing continuously"]
    assert first["captions"][0].startswith("Rustling occurs, ducks quack")


def test_cld_validation(shared_data: Path) -> None:
    rows = list(read_adiff(shared_data / "adiff/cld_validation_adiff_fewwords_answer.csv", "val"))
    assert len(rows) == 5_225
    _valid(rows)
    first = rows[0]
    assert first["source"] == "CLD-1"
    assert first["dataset"] == "clotho"
    assert (
        first["clip_id"] == "noisy stuff groceries paper bag cookie metallic case cling clang.wav"
    )
    assert first["clip_id_2"] == "heartbeat-40bpm.wav"


def test_caption_rows_from_real_csvs(shared_data: Path) -> None:
    clips = build_manifest("audiocaps", [shared_data / "audiocaps/test.csv"], "test")
    rows = list(caption_rows(clips))
    assert len(rows) == 4_875
    _valid(rows)
    assert len(list(caption_rows(clips, max_per_clip=1))) == 975
    clotho = build_manifest(
        "clotho", [shared_data / "clotho/clotho_captions_evaluation.csv"], "test"
    )
    rows = list(caption_rows(clotho))
    assert len(rows) == 5_225
    first = rows[0]
    assert first["source"] == "Clotho-captions"
    assert first["task"] == "caption"
    assert first["question"] == CAPTION_QUESTION
    assert first["clip_id"] == "Santa Motor.wav"
    assert first["caption_index"] == 0
    assert first["answer"] == first["captions"][0]
    assert rows[1]["answer"] == "A person is using electric clippers to trim bushes."


def test_caption_rows_of_the_sample_manifest(sample_manifest: Path) -> None:
    rows = list(caption_rows(read_manifest(sample_manifest)))
    assert len(rows) == 42
    assert Counter(row["source"] for row in rows) == {
        "AudioCaps-captions": 17,
        "Clotho-captions": 25,
    }


def test_clotho_aqa_majority_and_agreement() -> None:
    rows = list(read_clotho_aqa(SAMPLE_DATA / "clotho_aqa_train.csv", "train"))
    _valid(rows)
    by_question = {(row["clip_id"], row["question"]): row for row in rows}
    # 12 questions; two have three different answers (no majority) and are left out.
    assert len(rows) == 10
    unanimous = by_question[("Café terrace, rain on the awning.wav", "Is it raining?")]
    assert (unanimous["answer"], unanimous["agreement"]) == ("yes", 1.0)
    assert unanimous["source"] == "ClothoAQA"
    assert unanimous["task"] == "aqa"
    assert unanimous["dataset"] == "clotho"
    split_vote = by_question[("Café terrace, rain on the awning.wav", "Is there music playing?")]
    assert split_vote["answer"] == "no"  # "no", "No." and "yes": case and punctuation ignored
    assert split_vote["agreement"] == pytest.approx(2 / 3, abs=1e-4)
    assert ("Café terrace, rain on the awning.wav", "What are the cups made of?") not in by_question
    strict = list(read_clotho_aqa(SAMPLE_DATA / "clotho_aqa_train.csv", "train", min_agreement=1))
    assert all(row["agreement"] == 1.0 for row in strict) and len(strict) < len(rows)


def test_record_ids_are_deterministic() -> None:
    path = SAMPLE_DATA / "clotho_entailment_validation.csv"
    first = [row["record_id"] for row in read_entailment(path, "val")]
    again = [row["record_id"] for row in read_entailment(path, "val")]
    assert first == again
    assert all(rid.startswith("CLE-") for rid in first)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_caption_list_names_file_row_and_column(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "cle.csv",
        "Dataset,Audio file,Caption,Entailment,Neutral,Contradiction\n"
        "ClothoV2,a.wav,\"['fine']\",e,n,c\n"
        'ClothoV2,b.wav,"[\'unclosed",e,n,c\n',
    )
    with pytest.raises(InputError) as err:
        list(read_entailment(path, "val"))
    assert err.value.file == str(path)
    assert (err.value.row, err.value.field) == (2, "Caption")


def test_unknown_difference_trigger_is_an_error(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "acd.csv",
        "taskname,filepath1,filepath2,caption1,caption2,input,answer\n"
        "audiocaps,a/Yx.wav,a/Yy.wav,one,two,say something,text\n",
    )
    with pytest.raises(InputError, match="unknown trigger") as err:
        list(read_adiff(path, "val"))
    assert (err.value.row, err.value.field) == (1, "input")


def test_missing_column_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "aqa.csv", "file_name,question,answer\na.wav,Is it?,yes\n")
    with pytest.raises(InputError) as err:
        list(read_clotho_aqa(path, "train"))
    assert err.value.field == "QuestionText"
