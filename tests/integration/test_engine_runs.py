"""Run-level guarantees: fingerprints, answer balance at scale, the adaptive limiter."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pandas as pd
import pytest

from reasonaqa.backends.adaptive import AdaptiveLimiter
from reasonaqa.config import GenerateConfig
from reasonaqa.engine.generate import generate
from reasonaqa.errors import InputError
from reasonaqa.schemas import Clip
from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.runs import fault_server_config
from reasonaqa.testing.servers import fault_server


def _manifest(path: Path, clips: int) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(clips):
            clip = Clip(
                dataset="audiocaps",
                split="train" if i % 5 else "test",
                clip_id=f"clip{i:05d}",
                audio_path=f"Yclip{i:05d}.wav",
                source_rows=[str(i)],
                captions=[f"A dog barks {i % 7 + 2} times while a car passes by on a wet road."],
            )
            fh.write(clip.model_dump_json() + "\n")
    return path


def _config(manifest: Path, out: Path, url: str, **overrides: object) -> GenerateConfig:
    settings: dict[str, object] = {
        "tasks": ["mcq"],
        "audio_votes": 0,
        "grounding": False,
        "concurrency": 16,
    }
    return fault_server_config(manifest, out, url, **(settings | overrides))


def test_letters_are_balanced_over_a_thousand_mcqs(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "m.jsonl", 700)
    out = tmp_path / "run"
    with fault_server(mode="instant") as url:
        result = generate(_config(manifest, out, url, per_caption=3))
    rows = pd.read_parquet(out)
    mcq = rows[rows["task"] == "mcq"]
    for split, group in mcq.groupby("split"):
        if len(group) < 1000:
            continue
        shares = group["answer_letter"].value_counts(normalize=True)
        assert set(shares.index) == set("abcd")
        assert (shares - 0.25).abs().max() <= 0.01, (split, shares.to_dict())
    assert (mcq.groupby("split").size() >= 1000).any()
    for _, row in mcq.head(200).iterrows():
        assert row["options"]["abcd".index(row["answer_letter"])] == row["answer"]
    assert result.final.correct_is_longest_rate is not None
    assert result.final.correct_is_longest_rate <= 0.30
    manifest_json = json.loads(RunPaths(out).run_manifest.read_text())
    assert manifest_json["correct_is_longest_rate"] == result.final.correct_is_longest_rate


def test_a_folder_made_with_other_settings_is_refused_unless_force_new(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "m.jsonl", 5)
    out = tmp_path / "run"
    with fault_server(mode="instant") as url:
        generate(_config(manifest, out, url, seed=1))
        first_seeds = set(pd.read_parquet(out)["seed"])
        # Speed settings are not part of the fingerprint: this resumes (and finds all done).
        generate(_config(manifest, out, url, seed=1, concurrency=3, timeout_s=9.0))
        with pytest.raises(InputError, match="--force-new"):
            generate(_config(manifest, out, url, seed=2))
        again = generate(_config(manifest, out, url, seed=2, force_new=True))
    assert again.accepted == 5
    assert set(pd.read_parquet(out)["seed"]).isdisjoint(first_seeds)


def test_limiter_halves_on_overload_pauses_for_retry_after_and_grows_back() -> None:
    async def scenario() -> tuple[float, float, float, float]:
        limiter = AdaptiveLimiter(maximum=8, cooldown_s=0.0)
        limiter.on_overload()
        halved = limiter.limit
        limiter.on_overload(retry_after_s=0.2)
        start = asyncio.get_running_loop().time()
        async with limiter:
            waited = asyncio.get_running_loop().time() - start
        quartered = limiter.limit
        for _ in range(40):
            limiter.on_success()
        return halved, quartered, waited, limiter.limit

    halved, quartered, waited, grown = asyncio.run(scenario())
    assert (halved, quartered) == (4.0, 2.0)
    assert waited >= 0.15
    assert grown == 8.0


def test_limiter_caps_requests_in_flight() -> None:
    async def scenario() -> int:
        limiter = AdaptiveLimiter(maximum=3)
        peak = 0

        async def one() -> None:
            nonlocal peak
            async with limiter:
                peak = max(peak, limiter.in_flight)
                await asyncio.sleep(0.01)

        await asyncio.gather(*(one() for _ in range(30)))
        assert limiter.in_flight == 0
        return peak

    assert asyncio.run(scenario()) == 3


def test_limiter_admits_more_waiters_as_the_limit_grows_back() -> None:
    async def scenario() -> tuple[int, int]:
        limiter = AdaptiveLimiter(maximum=8, cooldown_s=0.0)
        limiter.on_overload()  # limit 4
        peak = done = 0

        async def one() -> None:
            nonlocal peak, done
            async with limiter:
                peak = max(peak, limiter.in_flight)
                await asyncio.sleep(0.005)
                limiter.on_success()
            done += 1

        await asyncio.gather(*(one() for _ in range(200)))
        return peak, done

    peak, done = asyncio.run(scenario())
    assert done == 200
    assert peak == 8
