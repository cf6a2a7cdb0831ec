"""``preview`` in-process with the scripted backend: sampling, verdicts, messages, no trace."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

from reasonaqa.backends.base import BackendError, ChatRequest
from reasonaqa.cli.preview import render_item
from reasonaqa.config import GenerateConfig, config_from_settings
from reasonaqa.engine.preview import preview, sample_items
from reasonaqa.engine.work import iter_work
from reasonaqa.sources.manifests import read_manifest
from reasonaqa.testing.scripted import ScriptedBackend, valid_reply


def _sample_config(sample_manifest: Path, tmp_path: Path) -> GenerateConfig:
    settings = {"manifest": sample_manifest, "output": tmp_path / "unused", "grounding": True}
    return config_from_settings(settings | {"progress": False})


def varied() -> Callable[[ChatRequest, int], str | BackendError]:
    """Generation replies in turn: a caption leak (rejected), a failure (quarantined), valid."""
    turns = itertools.count()

    def reply(request: ChatRequest, index: int) -> str | BackendError:
        if request.schema_name not in ("McqItem", "DetailItem"):
            return valid_reply(request, index)
        kind = next(turns) % 3
        if kind == 1:
            return BackendError("transport", "HTTP 500: 'model crashed'")
        item = json.loads(valid_reply(request, index))
        if kind == 0:
            item["question"] = "What does the caption say the dog is doing here?"
        return json.dumps(item)

    return reply


def test_the_sample_spreads_over_clips_splits_and_tasks(
    sample_manifest: Path, tmp_path: Path
) -> None:
    config = _sample_config(sample_manifest, tmp_path)
    items = sample_items(iter_work(config, read_manifest(config.manifest)), 8, seed=0)
    assert len(items) == 8 and len({i.record_id for i in items}) == 8
    assert len({i.clip_key for i in items}) == 8
    assert {i.task for i in items} == {"mcq", "detail"}
    assert len({i.clip.split for i in items}) >= 3
    again = sample_items(iter_work(config, read_manifest(config.manifest)), 8, seed=0)
    assert [i.record_id for i in again] == [i.record_id for i in items]
    other = sample_items(iter_work(config, read_manifest(config.manifest)), 8, seed=1)
    assert [i.record_id for i in other] != [i.record_id for i in items]


def test_each_item_shows_its_replies_verdicts_and_status(
    sample_manifest: Path, tmp_path: Path
) -> None:
    config = _sample_config(sample_manifest, tmp_path)
    results = preview(config, 8, ScriptedBackend(varied()))
    assert not config.output.exists()  # the throwaway folder was elsewhere, and is gone
    reports = [render_item(r, n, 8, 200) for n, r in enumerate(results, 1)]
    statuses = {r.record.status for r in results}
    assert statuses == {"accepted", "rejected", "quarantined"}
    for result, report in zip(results, reports, strict=True):
        assert "captions:" in report and "generation prompt" in report
        assert f"status: {result.record.status.upper()}" in report
        if result.record.status == "quarantined":
            assert "generation failed: transport: HTTP 500: 'model crashed'" in report
            assert "(transport): HTTP 500" in report
            continue
        assert "generation reply:" in report and "parsed:" in report and "checks:" in report
        if result.record.status == "rejected":  # a failed check skips the second passes
            assert "FAIL text_leak: mentions the text source" in report
            assert "status: REJECTED (text_leak): mentions the text source" in report
            continue
        assert "grounding reply:" in report and "grounding verdict: grounded" in report
        if result.item.task == "mcq":
            assert "audio votes reply 3/3:" in report and "audio dependence: votes" in report
