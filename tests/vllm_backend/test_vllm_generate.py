"""`generate` with the vllm backend: interrupted and rerun, it gives the uninterrupted rows."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("vllm")

from reasonaqa.backends.vllm import VllmBackend
from reasonaqa.config import GenerateConfig, SamplingConfig
from reasonaqa.engine.run import generate, generate_async

pytestmark = [pytest.mark.vllm, pytest.mark.timeout(1200)]

ITEMS = 16


def _config(output: Path, manifest: Path, model: Path) -> GenerateConfig:
    return GenerateConfig(
        manifest=manifest,
        output=output,
        backend="vllm",
        model=str(model),
        tasks=["mcq"],
        limit=ITEMS,
        seed=5,
        grounding=False,
        audio_votes=0,
        concurrency=2,  # a few items at a time, so an interruption finds some committed
        sampling=SamplingConfig(max_tokens=200),
        progress=False,
    )


def _committed(run: Path) -> set[str]:
    try:
        with contextlib.closing(sqlite3.connect(run / "_journal.sqlite")) as db:
            return {row[0] for row in db.execute("SELECT record_id FROM records")}
    except sqlite3.OperationalError:  # not created yet
        return set()


def _rows(run: Path) -> pd.DataFrame:
    frame = pd.read_parquet(run).drop(columns=["created_at"])
    return frame.sort_values("record_id").reset_index(drop=True)


async def _run_until_some_committed(config: GenerateConfig, backend: VllmBackend) -> None:
    task = asyncio.create_task(generate_async(config, backend))
    while len(_committed(config.output)) < 3 and not task.done():
        await asyncio.sleep(0.2)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_interrupted_run_resumes_to_the_uninterrupted_rows(
    vllm_backend: VllmBackend, hf_model_dir: Path, sample_manifest: Path, tmp_path: Path
) -> None:
    reference = _config(tmp_path / "reference", sample_manifest, hf_model_dir)
    generate(reference, vllm_backend)

    resumed = _config(tmp_path / "resumed", sample_manifest, hf_model_dir)
    asyncio.run(_run_until_some_committed(resumed, vllm_backend))
    before = _committed(resumed.output)
    assert 0 < len(before) < ITEMS

    result = generate(resumed, vllm_backend)
    rows = _rows(resumed.output)
    assert rows["record_id"].is_unique
    assert result.accepted == len(rows)
    pd.testing.assert_frame_equal(rows, _rows(reference.output))
