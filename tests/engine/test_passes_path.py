"""Second passes in-process: grounding verdicts, audio votes, unreadable judges."""

from __future__ import annotations

import json

import pandas as pd

from reasonaqa.backends.base import ChatRequest
from reasonaqa.config import GenerateConfig
from reasonaqa.engine.generate import generate
from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.scripted import OPTIONS, ScriptedBackend, valid_reply


def _with_passes(config: GenerateConfig, votes: int = 0) -> GenerateConfig:
    return config.model_copy(update={"grounding": True, "audio_votes": votes})


def test_agreeing_judge_accepts_and_votes_are_recorded(config: GenerateConfig) -> None:
    result = generate(_with_passes(config, votes=3), ScriptedBackend())
    assert result.accepted == 6
    rows = pd.read_parquet(config.output)
    assert rows["grounded"].all()
    # Every vote picks the answer, so the question gives it away: weak.
    assert set(rows["audio_contribution"]) == {"weak"}


def test_a_well_formed_disagreement_rejects_as_ungrounded(config: GenerateConfig) -> None:
    def disagree(request: ChatRequest, index: int) -> str:
        if request.schema_name == "choice":
            return json.dumps({"answer": OPTIONS[1]})
        return valid_reply(request, index)

    result = generate(_with_passes(config), ScriptedBackend(disagree))
    assert result.rejected == {"ungrounded": 6}
    rejected = pd.read_parquet(RunPaths(config.output).rejected)
    assert set(rejected["judge_reply"]) == {json.dumps({"answer": OPTIONS[1]})}
    assert rejected["message"].str.contains("grounding pass").all()


def test_an_unreadable_judge_is_retried_then_quarantined_not_rejected(
    config: GenerateConfig,
) -> None:
    def garbled(request: ChatRequest, index: int) -> str:
        return "verdict: maybe" if request.schema_name == "choice" else valid_reply(request, index)

    backend = ScriptedBackend(garbled)
    result = generate(_with_passes(config), backend)
    assert result.counts.quarantined == {"judge_unreadable": 6} and not result.rejected
    assert sum(r.schema_name == "choice" for r in backend.requests) == 12  # one retry each
    quarantined = pd.read_parquet(RunPaths(config.output).quarantine)
    assert set(quarantined["judge_reply"]) == {"verdict: maybe"}
    assert set(quarantined["message"]) == {"the judge's reply was not a verdict"}


def test_a_judge_that_recovers_after_feedback_accepts(config: GenerateConfig) -> None:
    def once_garbled(request: ChatRequest, index: int) -> str:
        if request.schema_name == "choice" and len(request.messages) == 2:
            return "verdict: maybe"
        return valid_reply(request, index)

    result = generate(_with_passes(config), ScriptedBackend(once_garbled))
    assert result.accepted == 6
