"""Mellow trains and evaluates on shards that ``reasonaqa build`` made from the sample recipe.

The recipe's existing-QA parts (captions, ClothoAQA, entailment MCQ, ADIFF differences) are
built as they are; its LLM part is left out to keep the test fast. Audio is generated.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from reasonaqa.mellow.config import load_config
from reasonaqa.mellow.evaluate import evaluate
from reasonaqa.mellow.train import train

pytest.importorskip("transformers")
build_module = pytest.importorskip("reasonaqa.dataset.build")
recipe_module = pytest.importorskip("reasonaqa.dataset.recipe")

SAMPLE_RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "sample.yaml"


def existing_parts_recipe(target: Path) -> Path:
    """The sample recipe without its synthetic part, paths made absolute."""
    raw = yaml.safe_load(SAMPLE_RECIPE.read_text())
    raw.pop("synthetic", None)
    for part in raw["existing"]:
        for key in ("manifest", "path"):
            if key in part:
                paths = part[key] if isinstance(part[key], list) else [part[key]]
                absolute = [str((SAMPLE_RECIPE.parent / p).resolve()) for p in paths]
                part[key] = absolute if isinstance(part[key], list) else absolute[0]
    target.write_text(yaml.safe_dump(raw))
    return target


def test_train_and_evaluate_on_sample_recipe_shards(tmp_path: Path) -> None:
    if not SAMPLE_RECIPE.is_file():
        pytest.skip("recipes/sample.yaml is not present")
    recipe = recipe_module.load_recipe(existing_parts_recipe(tmp_path / "recipe.yaml"))
    build_module.build(recipe, tmp_path / "build", progress=False)
    rows = pd.read_parquet(tmp_path / "build" / "data")
    assert {"mcq", "aqa", "caption", "difference"} <= set(rows.task)
    clips = set(rows.audio_path) | set(rows.audio_path_2.dropna())
    rng = np.random.default_rng(0)
    for i, clip in enumerate(sorted(clips)):
        t = np.arange(16_000) / 16_000
        tone = 0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t) + 0.05 * rng.standard_normal(t.size)
        (tmp_path / "audio" / clip).parent.mkdir(parents=True, exist_ok=True)
        sf.write(tmp_path / "audio" / clip, tone.astype(np.float32), 16_000)
    overrides = {
        "output": str(tmp_path / "run"),
        "data.train": [str(tmp_path / "build")],
        "data.eval": [str(tmp_path / "build")],
        "data.audio_root": str(tmp_path / "audio"),
        "data.clip_seconds": 1,
        "data.prompt_tokens": 64,
        "data.answer_tokens": 32,
        "data.num_workers": 0,
        "model.size": "tiny",
        "model.language_model": "tiny",
        "optim.warmup_steps": 1,
        "train.batch_size": 4,
        "train.max_steps": 3,
        "train.progress": False,
        "evaluate.max_new_tokens": 4,
        "evaluate.limit": 8,
    }
    config = load_config(None, [f"{k}={json.dumps(v)}" for k, v in overrides.items()])
    result = train(config)
    assert result.step == 3 and all(np.isfinite(result.losses))
    table = evaluate(config, result.checkpoint, tmp_path / "eval")
    assert sum(int(entry["rows"]) for entry in table.values()) == 8
