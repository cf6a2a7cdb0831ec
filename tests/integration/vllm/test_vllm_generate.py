"""`generate` with the vllm backend: interrupted and rerun, it gives the uninterrupted rows.

SmolLM-135M writes few items that pass the quality checks, so the comparison covers every
record the run kept: accepted, rejected and quarantined alike.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("vllm")

from reasonaqa.backends.vllm import VllmBackend
from reasonaqa.config import GenerateConfig, SamplingConfig
from reasonaqa.engine.generate import generate, generate_async
from reasonaqa.testing.runs import committed_ids

pytestmark = [pytest.mark.vllm, pytest.mark.timeout(1200)]

ITEMS = 8
RECORD_FOLDERS = ("data", "_rejected", "_quarantine")


def _config(output: Path, manifest: Path, model: Path, concurrency: int) -> GenerateConfig:
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
        concurrency=concurrency,  # how fast, not what: outside the run fingerprint
        sampling=SamplingConfig(max_tokens=128),
        progress=False,
    )


def _records(run: Path) -> pd.DataFrame:
    files = [path for folder in RECORD_FOLDERS for path in sorted((run / folder).glob("*.parquet"))]
    frame = pd.concat([pd.read_parquet(path) for path in files], ignore_index=True)
    frame = frame.drop(columns=["created_at"])
    return frame.sort_values("record_id").reset_index(drop=True)


async def _run_until_somecommitted_ids(config: GenerateConfig, backend: VllmBackend) -> None:
    task = asyncio.create_task(generate_async(config, backend))
    while len(committed_ids(config.output)) < 2 and not task.done():
        await asyncio.sleep(0.2)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_interrupted_run_resumes_to_the_uninterrupted_rows(
    vllm_backend: VllmBackend, hf_model_dir: Path, sample_manifest: Path, tmp_path: Path
) -> None:
    reference = _config(tmp_path / "reference", sample_manifest, hf_model_dir, concurrency=8)
    generate(reference, vllm_backend)

    # One item at a time, so the interruption comes with some committed and some not.
    interrupted = _config(tmp_path / "resumed", sample_manifest, hf_model_dir, concurrency=1)
    asyncio.run(_run_until_somecommitted_ids(interrupted, vllm_backend))
    assert 0 < len(committed_ids(interrupted.output)) < ITEMS

    resumed = interrupted.model_copy(update={"concurrency": 8})
    generate(resumed, vllm_backend)
    records = _records(resumed.output)
    assert len(records) == ITEMS
    assert records["record_id"].is_unique
    pd.testing.assert_frame_equal(records, _records(reference.output))
