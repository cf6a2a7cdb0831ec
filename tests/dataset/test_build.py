"""Recipes, merging with split integrity, and the sample recipe built end to end."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

import reasonaqa.cli.build
import reasonaqa.cli.export  # noqa: F401  (registers the commands)
from reasonaqa.cli.app import app
from reasonaqa.dataset.merge import PartStream, merge_parts, tables_from_rows
from reasonaqa.dataset.recipe import CaptionsPart, EntailmentPart, Recipe, load_recipe
from reasonaqa.dataset.splits import Decontamination, SplitGuard, SplitLeakError
from reasonaqa.errors import InputError
from reasonaqa.schemas import LETTERS, empty_row
from reasonaqa.storage.mellow_records import MELLOW_KEYS
from reasonaqa.testing.fault_server import MODEL_ID
from reasonaqa.testing.servers import fault_server

REPO = Path(__file__).resolve().parents[2]
SAMPLE_RECIPE = REPO / "recipes" / "sample.yaml"


def _row(clip_id: str, split: str, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "record_id": f"{clip_id}-{split}-{values.get('question', 'q')}",
        "origin": "existing",
        "source": "CLE",
        "dataset": "clotho",
        "split": split,
        "clip_id": clip_id,
        "audio_path": clip_id,
        "captions": ["A caption."],
        "task": "detail",
        "question": "q",
        "answer": "a",
    }
    return empty_row(**{**base, **values})


def _part(name: str, rows: list[dict[str, Any]], split: str | None = None) -> PartStream:
    return PartStream(name, lambda: tables_from_rows(rows, batch_rows=2), split)


def _data(root: Path) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for path in sorted((root / "data").glob("*.parquet")):
        counts[path.name] = pq.ParquetFile(path).metadata.num_rows
    return dict(counts)


def test_merge_maps_source_splits_and_rolls_shards(tmp_path: Path) -> None:
    rows = [_row(f"d{i}.wav", "development", question=str(i)) for i in range(5)]
    rows += [_row("v.wav", "validation"), _row("e.wav", "evaluation")]
    stats = merge_parts([_part("clips", rows)], tmp_path, guard=SplitGuard(), shard_rows=2)
    assert _data(tmp_path) == {
        "test-00000.parquet": 1,
        "train-00000.parquet": 2,
        "train-00001.parquet": 2,
        "train-00002.parquet": 1,
        "val-00000.parquet": 1,
    }
    assert stats.rows == {"train": {"CLE": 5}, "val": {"CLE": 1}, "test": {"CLE": 1}}
    assert stats.clips == 7


def test_part_split_overrides_the_rows(tmp_path: Path) -> None:
    merge_parts(
        [_part("file", [_row("a.wav", "whatever")], split="val")], tmp_path, guard=SplitGuard()
    )
    assert _data(tmp_path) == {"val-00000.parquet": 1}


def _ac(clip_id: str, split: str, **values: Any) -> dict[str, Any]:
    """An AudioCaps row: its identity (the YouTube id) is the same in every split folder."""
    return _row(clip_id, split, dataset="audiocaps", audio_path=f"Y{clip_id}.wav", **values)


def test_clip_in_two_splits_fails_and_keeps_old_data(tmp_path: Path) -> None:
    merge_parts([_part("ok", [_ac("a", "train")])], tmp_path, guard=SplitGuard())
    leaking = [
        _part("captions", [_ac("a", "train"), _ac("b", "val")]),
        _part("cle", [_ac("a", "test"), _ac("b", "test")]),
    ]
    with pytest.raises(SplitLeakError, match="2 clip") as caught:
        merge_parts(leaking, tmp_path, guard=SplitGuard())
    assert [leak.describe() for leak in caught.value.leaks] == [
        "audiocaps:a is in test (cle) and train (captions), matched by clip identity",
        "audiocaps:b is in test (cle) and val (captions), matched by clip identity",
    ]
    assert _data(tmp_path) == {"train-00000.parquet": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["data"]  # no staging folder left


def test_same_clotho_name_in_two_split_folders_is_two_clips(tmp_path: Path) -> None:
    rows = [_row("City.wav", "development"), _row("City.wav", "validation", question="other")]
    stats = merge_parts([_part("clotho", rows)], tmp_path, guard=SplitGuard())
    assert stats.clips == 2


def test_second_audio_of_a_difference_row_counts(tmp_path: Path) -> None:
    rows = [
        _ac("a", "train", clip_id_2="b", audio_path_2="Yb.wav", task="difference"),
        _ac("b", "test"),
        # A Clotho path that names its folder is that folder's clip, whatever the row's split.
        _row("c.wav", "val", clip_id_2="d.wav", audio_path_2="ClothoV21/evaluation/d.wav"),
        _row("d.wav", "evaluation"),
    ]
    with pytest.raises(SplitLeakError) as caught:
        merge_parts([_part("adiff", rows)], tmp_path, guard=SplitGuard())
    assert {leak.key for leak in caught.value.leaks} == {
        "audiocaps:b",
        "clotho:evaluation/d.wav",
    }


def test_same_audio_under_two_names_fails_with_an_audio_root(tmp_path: Path) -> None:
    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "one.wav").write_bytes(b"RIFF same recording")
    (audio / "copy.wav").write_bytes(b"RIFF same recording")
    (audio / "other.wav").write_bytes(b"RIFF another recording")
    rows = [_row("one.wav", "train"), _row("other.wav", "train"), _row("copy.wav", "test")]
    merge_parts([_part("p", rows)], tmp_path / "no-root", guard=SplitGuard())  # ids differ: fine
    with pytest.raises(SplitLeakError, match=r"audio content of clotho:development/one\.wav"):
        merge_parts([_part("p", rows)], tmp_path / "root", guard=SplitGuard(audio))


def test_decontamination_removes_listed_clips_from_train_only(tmp_path: Path) -> None:
    listed = tmp_path / "benchmark.txt"
    listed.write_text("# benchmark clips\nYbench1\nfoo.wav\n", encoding="utf-8")
    rows = [
        _row("bench1", "train", audio_path="AudioCapsLarger/train/Ybench1.wav"),
        _row("foo.wav", "train"),
        _row("keep.wav", "train"),
        _row("x.wav", "train", clip_id_2="foo.wav", audio_path_2="foo.wav", question="pair"),
        _row("bench1", "train", audio_path="Ybench1.wav", question="other"),
    ]
    rows += [_row("foo-test.wav", "test", audio_path="foo.wav")]
    decontamination = Decontamination.load(listed)
    stats = merge_parts(
        [_part("p", rows)], tmp_path / "out", guard=SplitGuard(), decontamination=decontamination
    )
    assert stats.removed == 4
    assert stats.rows == {"train": {"CLE": 1}, "test": {"CLE": 1}}


def test_unknown_split_name_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="split 'holdout'"):
        merge_parts([_part("p", [_row("a.wav", "holdout")])], tmp_path, guard=SplitGuard())


def test_sample_recipe_loads_with_resolved_paths() -> None:
    recipe = load_recipe(SAMPLE_RECIPE)
    assert recipe.synthetic[0].manifest == REPO / "manifests" / "sample.jsonl"
    captions = recipe.existing[0]
    assert isinstance(captions, CaptionsPart) and captions.split is None
    entailment = next(part for part in recipe.existing if isinstance(part, EntailmentPart))
    assert all(path.is_file() for path in entailment.path)
    # The full recipe's source files are not bundled: validate its model, not its files.
    full = Recipe.model_validate(yaml.safe_load((REPO / "recipes/reasonaqa.yaml").read_text()))
    assert sum(part.target or 0 for part in (*full.synthetic, *full.existing)) == 1_242_078


@pytest.mark.parametrize(
    ("text", "row", "field"),
    [
        ("name: x\nsynthetic: [\n", 3, None),
        (
            "name: x\nexisting:\n  - {name: a, format: entailment, path: a.csv, split: dev}\n",
            None,
            "existing.0.entailment.split",
        ),
        (
            "name: x\nsynthetic:\n  - {name: a, manifest: m.jsonl, csv: [c.csv]}\n",
            None,
            "synthetic.0",
        ),
        ("name: x\ncolour: blue\nsynthetic:\n  - {name: a, manifest: m.jsonl}\n", None, "colour"),
        ("name: x\nsynthetic:\n  - {name: a, manifest: m.jsonl}\n", None, "synthetic.0.manifest"),
    ],
)
def test_bad_recipe_names_file_and_field(
    tmp_path: Path, text: str, row: int | None, field: str | None
) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_recipe(path)
    assert err.value.file == str(path)
    assert (err.value.row, err.value.field) == (row, field)


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample recipe built once through the CLI.

    Generation goes to a real local OpenAI-compatible server that answers instantly with
    schema-valid content; the recipe's own embedded model is too slow for the test suite.
    """
    out = tmp_path_factory.mktemp("build") / "sample"
    with fault_server() as url:
        result = CliRunner().invoke(
            app,
            [
                "build",
                str(SAMPLE_RECIPE),
                "-o",
                str(out),
                "--backend",
                "openai",
                "--base-url",
                url,
                "--model",
                MODEL_ID,
                "--no-progress",
            ],
        )
    assert result.exit_code == 0, result.output
    return out


def test_sample_build_end_to_end(sample_build: Path) -> None:
    summary = json.loads((sample_build / "_run.json").read_text(encoding="utf-8"))
    assert summary["counts"]["shipped"] > 0
    assert set(summary["splits"]) == {"train", "val", "test"}
    assert (sample_build / "_card" / "README.md").is_file()
    assert sorted(p.name for p in sample_build.iterdir() if not p.name.startswith("_")) == ["data"]
    homes: dict[tuple[str, str], set[str]] = defaultdict(set)
    sources: set[str] = set()
    for path in (sample_build / "data").glob("*.parquet"):
        split = path.name.split("-")[0]
        table = pq.read_table(path, columns=["dataset", "clip_id", "clip_id_2", "split", "source"])
        assert set(table["split"].to_pylist()) == {split}
        sources.update(table["source"].to_pylist())
        for dataset, first, second in zip(
            table["dataset"].to_pylist(),
            table["clip_id"].to_pylist(),
            table["clip_id_2"].to_pylist(),
            strict=True,
        ):
            homes[(dataset, first)].add(split)
            if second is not None:
                homes[(dataset, second)].add(split)
    assert all(len(splits) == 1 for splits in homes.values())
    assert {"ClothoAQA", "CLE", "ACE", "ACD-1", "ACD-3", "CLD-1", "Clotho-captions"} <= sources
    assert any(source.endswith(("-MCQ", "-Detail")) for source in sources)


def test_sample_build_exports(sample_build: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["export", "mellow", str(sample_build), "-o", str(tmp_path / "mellow")]
    )
    assert result.exit_code == 0, result.output
    subtypes = set()
    for split in ("train", "val", "test"):
        records = json.loads((tmp_path / "mellow" / f"{split}.json").read_text(encoding="utf-8"))
        assert records
        for record in records:
            assert tuple(record) == MELLOW_KEYS
            subtypes.add(record["subtype"])
            if record["input"].startswith("Based on the audio"):
                assert record["answer"][:3] in {"a) ", "b) ", "c) "}
            if record["subtype"].endswith("MCQ.json"):
                assert record["answer"][0] in LETTERS and record["answer"][1:3] == ") "
                assert " a) " in record["input"] and " d) " in record["input"]
            if record["subtype"].endswith("captions.json"):
                assert record["input"] == "caption first audio"
                assert record["answer"].startswith("The audio 1 is ")
            if record["subtype"].startswith(("ACD", "CLD")):
                assert record["input"].startswith("explain the difference in ")
                assert record["filepath2"]
    assert {"CLE.json", "ClothoAQA.json", "ACD-2.json"} <= subtypes
    datasets = pytest.importorskip("datasets")
    result = runner.invoke(app, ["export", "hf", str(sample_build), "-o", str(tmp_path / "hf")])
    assert result.exit_code == 0, result.output
    loaded = datasets.load_dataset(
        "parquet", data_dir=str(tmp_path / "hf"), cache_dir=str(tmp_path / "cache")
    )
    assert set(loaded) == {"train", "validation", "test"}
    for row in loaded["test"]:
        if row["choices"]:
            assert row["answer"] in row["choices"]


def test_sample_build_hf_card_tells_the_truth(
    sample_build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exported card: its splits, paths, columns and images are the folder's own, and its
    loading snippet runs there."""
    datasets = pytest.importorskip("datasets")
    from huggingface_hub import DatasetCard

    out = tmp_path / "hf"
    result = CliRunner().invoke(app, ["export", "hf", str(sample_build), "-o", str(out)])
    assert result.exit_code == 0, result.output
    card = DatasetCard.load(out / "README.md")
    assert card.data.pretty_name == "sample"  # the recipe's name, not the folder's
    assert (card.data.license, card.data.license_name) == ("other", "reasonaqa-mixed-sources")
    files = card.data.configs[0]["data_files"]
    assert [f["split"] for f in files] == ["train", "validation", "test"]
    assert all(list(out.glob(f["path"])) for f in files)
    # Loaded through its card (configs) and through the file names alike.
    cache = str(tmp_path / "cache")
    by_card = datasets.load_dataset(str(out), cache_dir=cache)
    by_names = datasets.load_dataset("parquet", data_dir=str(out), cache_dir=cache)
    assert {k: len(v) for k, v in by_card.items()} == {k: len(v) for k, v in by_names.items()}
    listed = re.findall(r"^- `(\w+)`: ", card.text, re.MULTILINE)
    assert listed == by_card["train"].column_names
    for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", card.text):
        assert (out / link).is_file(), link
    assert "ACD-1" in card.text and "Clotho entailment" in card.text  # the glossary
    assert "## Examples, one per task" in card.text and "**difference**" in card.text
    assert "temperature" in card.text and "reasonaqa version" in card.text
    [snippet] = re.findall(r"```python\n(.*?)```", card.text, re.DOTALL)
    monkeypatch.chdir(out)
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "snippet-cache"))
    exec(compile(snippet, "card-snippet", "exec"), {})


def test_one_audio_root_serves_the_build_and_its_exports(
    sample_build: Path, tmp_path: Path
) -> None:
    """Every audio path of the build, the Mellow export and the HF export is one file under one
    root laid out as documented (Mellow's release layout)."""
    root = tmp_path / "audio"
    build_paths = set()
    for path in (sample_build / "data").glob("*.parquet"):
        table = pq.read_table(path, columns=["audio_path", "audio_path_2"])
        build_paths |= {p for column in table.columns for p in column.to_pylist() if p}
    for relative in build_paths:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(b"RIFF")
    assert {p.split("/")[0] for p in build_paths} == {"AudioCapsLarger", "ClothoV21"}
    runner = CliRunner()
    for kind in ("mellow", "hf"):
        result = runner.invoke(app, ["export", kind, str(sample_build), "-o", str(tmp_path / kind)])
        assert result.exit_code == 0, result.output
    mellow_paths = {
        record[key]
        for split in ("train", "val", "test")
        for record in json.loads((tmp_path / "mellow" / f"{split}.json").read_text("utf-8"))
        for key in ("filepath1", "filepath2")
        if record[key]
    }
    hf_paths = set()
    for path in (tmp_path / "hf" / "data").glob("*.parquet"):
        table = pq.read_table(path, columns=["audio_path", "audio_path_2"])
        hf_paths |= {p for column in table.columns for p in column.to_pylist() if p}
    assert mellow_paths == hf_paths == build_paths
    assert all((root / p).is_file() for p in build_paths)
