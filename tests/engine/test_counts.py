"""One set of numbers: the summary, ``_progress.json``, ``_run.json`` and the card agree on
every count of a run with duplicates, rejections and quarantine; reruns keep the history."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from reasonaqa.backends.base import BackendError, ChatRequest
from reasonaqa.card.report import compute_stats, write_report
from reasonaqa.cli.generate import _report
from reasonaqa.config import GenerateConfig
from reasonaqa.engine.counts import RunCounts
from reasonaqa.engine.generate import generate
from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.scripted import ScriptedBackend, valid_mcq

Reply = str | BackendError


def mixed(request: ChatRequest, index: int) -> Reply:
    """By the item's seed: a leak (rejected), a failed request (quarantined), one shared
    question (duplicates within a clip), or a valid item."""
    kind = (request.seed or 0) % 4
    if kind == 1:
        return BackendError("transport", "HTTP 503: 'the server is overloaded'")
    item = json.loads(valid_mcq(request.seed or 0))
    if kind == 0:
        item["question"] = "According to the caption, which animal is heard here?"
    elif kind == 2:
        item["question"] = "Which sound source is the loudest one in this clip?"
    return json.dumps(item)


@pytest.fixture
def mixed_config(config: GenerateConfig) -> GenerateConfig:
    return config.model_copy(update={"per_caption": 4, "price_input": 0.5, "price_output": 2.0})


def test_every_reader_shows_the_same_numbers(
    mixed_config: GenerateConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    result = generate(mixed_config, ScriptedBackend(mixed))
    counts = result.counts
    assert counts.generated == 24
    assert counts.rejected and counts.quarantined and counts.duplicates_removed

    paths = RunPaths(mixed_config.output)
    run_json = json.loads(paths.run_manifest.read_text())
    progress = json.loads(paths.progress.read_text())
    write_report(paths.root)
    card_run = compute_stats(paths.root)["run"]
    assert progress["state"] == "done"
    assert run_json["counts"] == progress["counts"] == card_run == counts.to_json()

    _report(result)
    summary = capsys.readouterr().out
    assert "\n".join(counts.summary_lines()) in summary
    assert f"duplicates removed: {counts.duplicates_removed}" in summary
    assert "rejected: " + str(counts.rejected_total) in summary

    # The files on disk hold exactly what the counts say.
    assert len(pd.read_parquet(paths.root)) == counts.shipped == result.accepted
    rejected = pd.read_parquet(paths.rejected)
    assert len(rejected) == counts.rejected_total + counts.duplicates_removed
    assert len(pd.read_parquet(paths.quarantine)) == counts.quarantined_total

    card = paths.card.read_text()
    assert f"Of {counts.generated:,} generated items" in card
    assert f"{counts.llm_calls:,} calls" in card and "Cost: $" in card
    spent = counts.cost_usd(0.5, 2.0)
    assert run_json["cost_usd"]["spent"] == pytest.approx(spent)
    assert progress["cost_usd"]["spent"] == pytest.approx(spent)


def test_a_no_op_rerun_adds_a_session_and_keeps_the_totals(mixed_config: GenerateConfig) -> None:
    first = generate(mixed_config, ScriptedBackend(mixed))
    backend = ScriptedBackend(mixed)
    second = generate(mixed_config, backend)
    assert not backend.requests
    assert second.counts == first.counts and first.counts.llm_calls > 0

    run_json = json.loads(RunPaths(mixed_config.output).run_manifest.read_text())
    sessions = run_json["sessions"]
    assert [s["state"] for s in sessions] == ["finished", "finished"]
    assert sessions[0]["llm_calls"] == first.counts.llm_calls and sessions[1]["llm_calls"] == 0
    assert sessions[0]["items"] == 24 and sessions[1]["items"] == 0
    assert run_json["counts"]["prompt_tokens"] == sum(s["prompt_tokens"] for s in sessions)


def test_set_aside_rows_keep_their_why(mixed_config: GenerateConfig) -> None:
    generate(mixed_config, ScriptedBackend(mixed))
    paths = RunPaths(mixed_config.output)
    rejected = pd.read_parquet(paths.rejected).set_index("reason")
    assert "caption" in rejected.loc["text_leak", "message"].iloc[0]
    duplicate = rejected.loc[rejected.index.str.startswith("duplicate")]
    assert duplicate["message"].str.contains("same clip").all()
    quarantined = pd.read_parquet(paths.quarantine)
    assert set(quarantined["message"]) == {"HTTP 503: 'the server is overloaded'"}


def test_counts_survive_their_json(tmp_path: Path) -> None:
    counts = RunCounts(4, 1, {"refusal": 2}, {"schema": 1}, {"train": 3}, 9, 1, 100, 50)
    assert RunCounts.from_json(counts.to_json(), tmp_path) == counts
    assert (counts + counts).generated == 14 and (counts + counts).shipped == 6
