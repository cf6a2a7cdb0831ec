"""Both backends end to end on the real bundled model: in-process, and over llama.cpp's server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from reasonaqa.backends.openai import OpenAIBackend
from reasonaqa.config import GenerateConfig
from reasonaqa.engine.generate import generate
from reasonaqa.schemas import QA_COLUMNS
from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.servers import llama_server

pytestmark = pytest.mark.slow


def _check_run(out: Path, expected_items: int) -> pd.DataFrame:
    manifest = json.loads((RunPaths(out).run_manifest).read_text())
    counts = manifest["counts"]
    assert counts["generated"] == expected_items
    assert manifest["templates"] and manifest["model"]
    if counts["shipped"] == 0:
        return pd.DataFrame()
    frame = pd.read_parquet(out)
    assert list(frame.columns) == list(QA_COLUMNS)
    assert frame["record_id"].is_unique
    assert (frame["origin"] == "synthetic").all()
    mcq = frame[frame["task"] == "mcq"]
    for _, row in mcq.iterrows():
        assert len(row["options"]) == 4
        assert row["options"]["abcd".index(row["answer_letter"])] == row["answer"]
    return frame


def test_embedded_backend_end_to_end_via_cli(tmp_path: Path, sample_manifest: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "reasonaqa",
            "generate",
            "--manifest",
            str(sample_manifest),
            "-o",
            str(out),
            "--limit",
            "6",
            "--audio-votes",
            "1",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode in (0, 3), proc.stderr
    assert "shipped:" in proc.stdout and "rejected:" in proc.stdout
    _check_run(out, 6)
    assert (RunPaths(out).progress).is_file()


def test_openai_backend_against_llama_cpp_server(tmp_path: Path, sample_manifest: Path) -> None:
    out = tmp_path / "run"
    with llama_server() as url:
        config = GenerateConfig(
            manifest=sample_manifest,
            output=out,
            backend="openai",
            base_url=url,
            model="smollm2",
            limit=4,
            audio_votes=2,
            grounding=True,
            progress=False,
            concurrency=2,
            timeout_s=120,
        )
        generate(config)
    _check_run(out, 4)
    raw = pd.concat(
        [
            pd.read_parquet(p)
            for p in (RunPaths(out).rejected, RunPaths(out).quarantine, RunPaths(out).data)
            if any(p.glob("*.parquet"))
        ]
    )
    assert raw["raw"].map(lambda t: bool(t) and t.lstrip().startswith("{")).any()


def test_openai_backend_falls_back_to_json_object_and_fans_out_n() -> None:
    import asyncio

    from reasonaqa.backends.base import ChatRequest
    from reasonaqa.schemas import ChoiceVerdict, llm_json_schema

    async def ask(url: str) -> tuple[OpenAIBackend, list[str]]:
        backend = OpenAIBackend(url, "smollm2", concurrency=1, timeout_s=120)
        request = ChatRequest(
            messages=({"role": "user", "content": "Pick one of: dog, cat. Reply as JSON."},),
            schema=llm_json_schema(ChoiceVerdict),
            schema_name="choice",
            max_tokens=40,
            temperature=0.8,
            seed=3,
            n=3,
        )
        completion = await backend.complete(request)
        await backend.aclose()
        return backend, completion.texts

    with llama_server() as url:
        backend, texts = asyncio.run(ask(url))
    assert backend.schema_mode == "json_object"  # llama.cpp answers json_schema with HTTP 500
    assert len(texts) == 3  # it ignores n, so the rest were fanned out
    for text in texts:
        ChoiceVerdict.model_validate_json(text)
