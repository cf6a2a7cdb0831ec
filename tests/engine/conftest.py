"""Fixtures for the fast engine tests: a small manifest and a run config against no server."""

from __future__ import annotations

from pathlib import Path

import pytest

from reasonaqa.config import GenerateConfig
from reasonaqa.schemas import Clip
from reasonaqa.sources.manifests import write_manifest

CLIPS = [
    Clip(
        dataset="audiocaps",
        split=split,
        clip_id=f"clip{n}",
        audio_path=f"Yclip{n}.wav",
        captions=["A dog barks while cars pass by.", "Traffic noise and a barking dog."],
        source_rows=[str(n)],
    )
    for n, split in enumerate(["train", "train", "val"])
]


@pytest.fixture
def config(tmp_path: Path) -> GenerateConfig:
    """Six MCQs over three clips, no second passes: every test sets what it needs on top."""
    manifest = tmp_path / "clips.jsonl"
    write_manifest(CLIPS, manifest)
    return GenerateConfig(
        manifest=manifest,
        output=tmp_path / "run",
        tasks=["mcq"],
        grounding=False,
        audio_votes=0,
        progress=False,
    )
