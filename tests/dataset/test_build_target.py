"""``reasonaqa build`` writes only into a new, empty or earlier build folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from reasonaqa.dataset.build import build
from reasonaqa.dataset.recipe import load_recipe
from reasonaqa.errors import InputError
from reasonaqa.storage.ownership import claim_folder

SAMPLE_RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "sample.yaml"


def test_a_users_folder_is_refused_before_anything_runs(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train-00000.parquet").write_bytes(b"the user's shard")
    with pytest.raises(InputError, match="not written by reasonaqa"):
        build(load_recipe(SAMPLE_RECIPE), tmp_path, progress=False)
    assert [p.name for p in tmp_path.rglob("*")] == ["data", "train-00000.parquet"]


def test_a_run_folder_is_not_a_build_folder(tmp_path: Path) -> None:
    claim_folder(tmp_path, "run")
    with pytest.raises(InputError, match="kind 'run', not 'build'"):
        build(load_recipe(SAMPLE_RECIPE), tmp_path, progress=False)
