"""Recipes, merging with split integrity, and the sample recipe built end to end."""

from __future__ import annotations

import json
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


def test_clip_in_two_splits_fails_and_keeps_old_data(tmp_path: Path) -> None:
    merge_parts([_part("ok", [_row("a.wav", "train")])], tmp_path, guard=SplitGuard())
    leaking = [_part("captions", [_row("a.wav", "train")]), _part("cle", [_row("a.wav", "test")])]
    with pytest.raises(
        SplitLeakError, match=r"'a.wav' is in split 'train' \(captions\) and in 'test' \(cle\)"
    ):
        merge_parts(leaking, tmp_path, guard=SplitGuard())
    assert _data(tmp_path) == {"train-00000.parquet": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["data"]  # no staging folder left


def test_second_audio_of_a_difference_row_counts(tmp_path: Path) -> None:
    rows = [
        _row("a.wav", "train", clip_id_2="b.wav", audio_path_2="b.wav", task="difference"),
        _row("b.wav", "test"),
    ]
    with pytest.raises(SplitLeakError, match=r"'b\.wav'"):
        merge_parts([_part("adiff", rows)], tmp_path, guard=SplitGuard())


def test_same_audio_under_two_names_fails_with_an_audio_root(tmp_path: Path) -> None:
    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "one.wav").write_bytes(b"RIFF same recording")
    (audio / "copy.wav").write_bytes(b"RIFF same recording")
    (audio / "other.wav").write_bytes(b"RIFF another recording")
    rows = [_row("one.wav", "train"), _row("other.wav", "train"), _row("copy.wav", "test")]
    merge_parts([_part("p", rows)], tmp_path / "no-root", guard=SplitGuard())  # ids differ: fine
    with pytest.raises(SplitLeakError, match=r"audio content of 'one\.wav'"):
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
    assert (tmp_path / "hf" / "README.md").read_text(encoding="utf-8").startswith("---")
    for row in loaded["test"]:
        if row["choices"]:
            assert row["answer"] in row["choices"]
