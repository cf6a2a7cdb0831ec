"""The build's plan on small copies of the real cases, and on the real public files.

``tests/data/identity`` reproduces what the public releases do: Clotho v2.1's
``City Ambience w_ Car Passing_1-2.wav`` in two split folders for two recordings, ADIFF's
``' e ieio ieai.wav'`` for Clotho's ``'e ieio ieai.wav'``, and two clips that really cross val
and test. Generation goes to the fault-injecting OpenAI-compatible server over real HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import reasonaqa.cli.build  # noqa: F401  (registers the command)
import reasonaqa.dataset.build as build_module
import reasonaqa.engine.finalize as finalize_module
from reasonaqa.cli.app import app
from reasonaqa.dataset.build import build
from reasonaqa.dataset.recipe import Recipe, load_recipe
from reasonaqa.dataset.splits import SplitLeakError
from reasonaqa.errors import InputError
from reasonaqa.testing.fault_server import MODEL_ID, read_log
from reasonaqa.testing.servers import fault_server

DATA = Path(__file__).resolve().parents[1] / "data" / "identity"
CITY = "City Ambience w_ Car Passing_1-2.wav"
LEAKS = {"audiocaps:BBBBBBBBBBB@0", "clotho:evaluation/Harbour gulls.wav"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    log = tmp_path_factory.mktemp("server") / "requests.jsonl"
    with fault_server(log=log) as url:
        yield url, log


def _recipe(folder: Path, url: str, **settings: Any) -> Recipe:
    """The identity-cases recipe with ``settings`` added, its files named absolutely."""
    data = yaml.safe_load((DATA / "recipe.yaml").read_text(encoding="utf-8"))
    for part in [*data["synthetic"], *data["existing"]]:
        for name in ("csv", "path"):
            if isinstance(part.get(name), list):
                part[name] = [str(DATA / p) for p in part[name]]
            elif name in part:
                part[name] = str(DATA / part[name])
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump({**data, **settings}), encoding="utf-8")
    return load_recipe(path).with_generation(base_url=url, model=MODEL_ID)


def _requests(log: Path) -> int:
    return len(read_log(log)) if log.is_file() else 0


def _rows(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "data")


def test_every_leak_is_reported_before_any_request(
    tmp_path: Path, server: tuple[str, Path]
) -> None:
    url, log = server
    before = _requests(log)
    with pytest.raises(SplitLeakError) as caught:
        build(_recipe(tmp_path, url), tmp_path / "out", progress=False)
    assert {leak.key for leak in caught.value.leaks} == LEAKS
    assert _requests(log) == before, "the plan must fail before the first LLM request"
    plan = json.loads((tmp_path / "out" / "_plan.json").read_text(encoding="utf-8"))
    assert {e["clip"] for e in plan["leaks"]} == LEAKS
    assert plan["leaks"][0]["splits"] == {"test": ["ac-test"], "val": ["ac-val"]}
    # The same name in two Clotho folders is two recordings: reported, not a leak.
    assert {"name": CITY, "folders": ["development", "validation"], "known": True} in plan[
        "name_reuse"
    ]
    # ADIFF's leading space matches the validation caption clip, and says so.
    [spelling] = plan["normalised_matches"]
    assert (spelling["spelled"], spelling["canonical"]) == (" e ieio ieai.wav", "e ieio ieai.wav")
    assert (spelling["part"], spelling["rows"], spelling["caption_clip"]) == ("cld-val", 1, True)
    assert plan["identity"]["unmatched_rows"] == 0
    assert not (tmp_path / "out" / "_synthetic").exists()


def test_the_cli_lists_every_leak(tmp_path: Path, server: tuple[str, Path]) -> None:
    url, log = server
    before = _requests(log)
    result = CliRunner().invoke(
        app,
        [
            "build",
            str(DATA / "recipe.yaml"),
            "-o",
            str(tmp_path / "out"),
            "--base-url",
            url,
            "--model",
            MODEL_ID,
            "--no-progress",
        ],
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, SplitLeakError)
    listed = [line for line in result.output.splitlines() if line.startswith("split leak: ")]
    assert len(listed) == len(LEAKS) and all(any(k in line for line in listed) for k in LEAKS)
    assert _requests(log) == before


@pytest.fixture(scope="module")
def dropped(tmp_path_factory: pytest.TempPathFactory, server: tuple[str, Path]) -> Path:
    """The cases built with ``split_leaks: drop`` (each leak kept in test)."""
    folder = tmp_path_factory.mktemp("drop")
    build(_recipe(folder, server[0], split_leaks="drop"), folder / "out", progress=False)
    return folder / "out"


def test_drop_keeps_each_leaking_clip_in_one_split(dropped: Path) -> None:
    rows = _rows(dropped)
    homes = rows.groupby("clip_id")["split"].unique()
    assert list(homes["BBBBBBBBBBB"]) == ["test"]
    assert list(homes["Harbour gulls.wav"]) == ["test"]
    assert "Harbour gulls.wav" not in set(rows["clip_id_2"].dropna())
    manifest = (dropped / "_manifests" / "ac-val.jsonl").read_text(encoding="utf-8")
    assert "BBBBBBBBBBB" not in manifest and "AAAAAAAAAAA" in manifest  # never asked about
    summary = json.loads((dropped / "_run.json").read_text(encoding="utf-8"))
    decisions = {e["clip"]: (e["decision"], e["dropped_from"]) for e in summary["plan"]["leaks"]}
    assert decisions == dict.fromkeys(LEAKS, ("kept in test", ["val"]))
    assert summary["dropped_rows"] == {"split_leak": 1}  # the ADIFF row; no question was asked


def test_distinct_recordings_sharing_a_name_are_both_kept(dropped: Path) -> None:
    rows = _rows(dropped)
    city = rows[rows.clip_id == CITY]
    assert set(city["split"]) == {"train", "val"}
    assert set(city["audio_path"]) == {
        f"ClothoV21/development/{CITY}",
        f"ClothoV21/validation/{CITY}",
    }
    # Their questions were written from their own captions.
    train_captions = city[city.split == "train"]["captions"].iloc[0]
    assert "Cars pass by" in train_captions[0]


def test_one_audio_layout_and_canonical_names(dropped: Path) -> None:
    rows = _rows(dropped)
    paths = set(rows["audio_path"]) | set(rows["audio_path_2"].dropna())
    assert all(p.startswith(("AudioCapsLarger/", "ClothoV21/")) for p in paths)
    assert "AudioCapsLarger/val/YAAAAAAAAAAA.wav" in paths
    assert "ClothoV21/validation/e ieio ieai.wav" in paths
    assert " e ieio ieai.wav" not in set(rows["clip_id"]) | set(rows["clip_id_2"].dropna())
    card = (dropped / "_card" / "README.md").read_text(encoding="utf-8")
    assert "# identity-cases" in card
    assert "only after whitespace normalisation: 1" in card
    assert f"`{CITY}` (development, validation)" in card


def test_a_finished_build_reruns_without_generating_finalizing_or_merging(
    dropped: Path, server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a rerun of a finished build must not do this")

    monkeypatch.setattr(build_module, "generate", refuse)
    monkeypatch.setattr(build_module, "merge_parts", refuse)
    monkeypatch.setattr(build_module, "make_plan", refuse)
    monkeypatch.setattr(finalize_module, "_write_final", refuse)
    url, log = server
    before = _requests(log)
    # Another concurrency changes how a build runs, not what it holds: still nothing to do.
    recipe = _recipe(
        dropped.parent, url, split_leaks="drop", generation={"backend": "openai", "concurrency": 3}
    )
    result = build(recipe, dropped, progress=False)
    assert not result.merged
    assert result.reused == {"clotho-train", "clotho-val", "clotho-test", "ac-val", "ac-test"}
    assert _requests(log) == before


@pytest.mark.parametrize(
    ("exclude", "gone"),
    [
        (["e ieio ieai.wav"], {("e ieio ieai.wav", "val")}),
        ([{"clip": "validation/" + CITY}], {(CITY, "val")}),
        ([{"clip": "Morning birds.wav", "split": "train"}], {("Morning birds.wav", "train")}),
        ([{"clip": "YCCCCCCCCCCC", "split": "test"}], {("CCCCCCCCCCC", "test")}),
    ],
)
def test_exclude_works_on_any_split(
    tmp_path: Path, server: tuple[str, Path], exclude: list[Any], gone: set[tuple[str, str]]
) -> None:
    out = tmp_path / "out"
    recipe = _recipe(tmp_path, server[0], split_leaks="drop", exclude=exclude)
    build(recipe, out, progress=False)
    rows = _rows(out)
    present = set(zip(rows["clip_id"], rows["split"], strict=True))
    pairs = rows[rows.clip_id_2.notna()]
    present |= set(zip(pairs["clip_id_2"], pairs["split"], strict=True))
    assert not gone & present
    assert (CITY, "train") in present  # an exclusion in one folder leaves the other recording
    summary = json.loads((out / "_run.json").read_text(encoding="utf-8"))
    assert summary["plan"]["excluded"][0]["clips"]


def test_exclude_resolves_a_leak(tmp_path: Path, server: tuple[str, Path]) -> None:
    exclude = [
        {"clip": "BBBBBBBBBBB", "split": "val"},
        {"clip": "Harbour gulls.wav", "split": "val"},
    ]
    out = tmp_path / "out"
    build(_recipe(tmp_path, server[0], exclude=exclude), out, progress=False)  # policy: fail
    assert json.loads((out / "_plan.json").read_text(encoding="utf-8"))["leaks"] == []


def test_changed_inputs_need_force_new_before_any_request(
    tmp_path: Path, server: tuple[str, Path]
) -> None:
    url, log = server
    out = tmp_path / "out"
    build(_recipe(tmp_path, url, split_leaks="drop"), out, progress=False)
    changed = _recipe(tmp_path, url, split_leaks="drop", exclude=["Morning birds.wav"])
    before = _requests(log)
    with pytest.raises(InputError, match=r"clotho-train.*--force-new"):
        build(changed, out, progress=False)
    assert _requests(log) == before
    result = build(changed, out, progress=False, force_new=True)
    assert "Morning birds.wav" not in set(_rows(out)["clip_id"])
    assert result.reused == {"clotho-val", "clotho-test", "ac-val", "ac-test"}
    # Starting clotho-train over asked nothing again: its remaining requests were cached.
    assert _requests(log) == before


# -- the real public files -------------------------------------------------------------------


def test_real_files_build_with_name_reuse_and_leading_space(
    tmp_path: Path, shared_data: Path, server: tuple[str, Path]
) -> None:
    """Everything in ../shared/data: the collisions that stopped the real build are no leak."""
    recipe = {
        "name": "shared-data",
        "generation": {"backend": "openai"},
        "synthetic": [
            {
                "name": "clotho-test",
                "dataset": "clotho",
                "csv": [str(shared_data / "clotho/clotho_captions_evaluation.csv")],
                "split": "test",
                "tasks": ["mcq"],
                "limit": 10,
            }
        ],
        "existing": [
            {
                "name": "ac-captions-val",
                "format": "captions",
                "dataset": "audiocaps",
                "csv": [str(shared_data / "audiocaps/val.csv")],
                "split": "val",
            },
            {
                "name": "ac-captions-test",
                "format": "captions",
                "dataset": "audiocaps",
                "csv": [str(shared_data / "audiocaps/test.csv")],
                "split": "test",
            },
            *(
                {"name": name, "format": "entailment", "path": str(shared_data / file), "split": s}
                for name, file, s in [
                    ("cle-val", "entailment/clotho_entailment_validation.csv", "val"),
                    ("cle-test", "entailment/clotho_entailment_evaluation.csv", "test"),
                    ("ace-test", "entailment/audiocaps_entailment_test.csv", "test"),
                ]
            ),
            {
                "name": "acd-val",
                "format": "adiff",
                "path": [str(p) for p in sorted((shared_data / "adiff").glob("acd_val_*.csv"))],
                "split": "val",
            },
            {
                "name": "cld-val",
                "format": "adiff",
                "path": str(shared_data / "adiff/cld_validation_adiff_fewwords_answer.csv"),
                "split": "val",
            },
        ],
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    out = tmp_path / "out"
    loaded = load_recipe(path).with_generation(base_url=server[0], model=MODEL_ID)
    build(loaded, out, progress=False)
    plan = json.loads((out / "_plan.json").read_text(encoding="utf-8"))
    assert plan["leaks"] == []
    reused = {e["name"] for e in plan["name_reuse"] if e["known"]}
    assert reused == {"01 A pug struggles to breathe 1_14_2008.wav", "Bus(Drive_Reverse)_1-2.wav"}
    assert not [e for e in plan["name_reuse"] if not e["known"]]
    spelled = {(e["part"], e["spelled"], e["canonical"]) for e in plan["normalised_matches"]}
    assert ("cld-val", " e ieio ieai.wav", "e ieio ieai.wav") in spelled
    # No Clotho validation captions here: the CLD and CLE validation clips match none.
    by_part = plan["identity"]["unmatched_rows_by_part"]
    assert set(by_part) == {"cld-val", "cle-val"}
    # Inner double blanks are real Clotho names, spelled so by every source: kept as they are.
    assert not [e for e in plan["normalised_matches"] if "Kitchen sink" in e["spelled"]]
    rows = _rows(out)
    paths = set(rows["audio_path"]) | set(rows["audio_path_2"].dropna())
    assert "ClothoV21/validation/e ieio ieai.wav" in paths
    assert "ClothoV21/validation/Kitchen sink  open tap and washing.wav" in paths
    assert all(p.startswith(("AudioCapsLarger/", "ClothoV21/")) for p in paths)
