"""The item path in-process, through a scripted backend: accept, reject, quarantine, retries."""

from __future__ import annotations

import json

import pandas as pd

from reasonaqa.backends.base import BackendError, ChatRequest, Completion
from reasonaqa.config import GenerateConfig
from reasonaqa.engine.generate import generate
from reasonaqa.engine.journal import Journal
from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.scripted import ScriptedBackend, valid_reply


def _run(config: GenerateConfig, script=valid_reply) -> tuple[ScriptedBackend, object]:
    backend = ScriptedBackend(script)
    return backend, generate(config, backend)


def test_valid_replies_are_accepted_and_letters_balanced(config: GenerateConfig) -> None:
    backend, result = _run(config)
    assert result.accepted == 6 and not result.rejected and not result.quarantined
    rows = pd.read_parquet(config.output)
    letters = {split: sorted(g["answer_letter"]) for split, g in rows.groupby("split")}
    assert letters == {"train": ["a", "b", "c", "d"], "val": ["a", "b"]}
    assert len(backend.requests) == 6


def test_a_failing_check_rejects_with_its_reason(config: GenerateConfig) -> None:
    def leaky(request: ChatRequest, index: int) -> str:
        item = json.loads(valid_reply(request, index))
        item["question"] = "According to the caption, which animal is heard here?"
        return json.dumps(item)

    _, result = _run(config, leaky)
    assert result.accepted == 0 and result.rejected == {"text_leak": 6}
    rejected = pd.read_parquet(RunPaths(config.output).rejected)
    assert set(rejected["reason"]) == {"text_leak"}


def test_transport_errors_quarantine(config: GenerateConfig) -> None:
    _, result = _run(config, lambda r, i: BackendError("transport", "connection refused"))
    assert result.counts.quarantined == {"transport": 6} and result.exit_code == 3


def test_invalid_json_is_fed_back_once(config: GenerateConfig) -> None:
    def first_broken(request: ChatRequest, index: int) -> str:
        broken = request.messages[-1]["role"] != "assistant" and len(request.messages) == 2
        return "{not json" if broken else valid_reply(request, index)

    backend, result = _run(config, first_broken)
    assert result.accepted == 6
    feedback = [r for r in backend.requests if len(r.messages) == 4]
    assert len(feedback) == 6 and "invalid" in feedback[0].messages[-1]["content"]


def test_invalid_twice_is_schema_quarantine(config: GenerateConfig) -> None:
    _, result = _run(config, lambda r, i: "{not json")
    assert result.counts.quarantined == {"schema": 6}


def test_cut_off_replies_get_twice_the_room(config: GenerateConfig) -> None:
    def short_first(request: ChatRequest, index: int) -> str | Completion:
        if request.max_tokens == config.sampling.max_tokens:
            return Completion(['{"question": "Which'], ["length"])
        return valid_reply(request, index)

    backend, result = _run(config, short_first)
    assert result.accepted == 6
    assert {r.max_tokens for r in backend.requests} == {512, 1024}


def test_cut_off_twice_is_length_quarantine(config: GenerateConfig) -> None:
    _, result = _run(config, lambda r, i: Completion(['{"q'], ["length"]))
    assert result.counts.quarantined == {"length": 6}


def test_rerun_asks_nothing_and_ends_identical(config: GenerateConfig) -> None:
    _run(config)
    first = pd.read_parquet(config.output).drop(columns=["created_at"])
    backend, result = _run(config)
    assert backend.requests == [] and result.accepted == 6
    again = pd.read_parquet(config.output).drop(columns=["created_at"])
    pd.testing.assert_frame_equal(first, again)


def test_quarantined_items_are_redone_from_the_cache_free_journal(config: GenerateConfig) -> None:
    _run(config, lambda r, i: BackendError("transport", "down"))
    journal = Journal(RunPaths(config.output).journal)
    assert len(journal.quarantined()) == 6
    journal.close()
    from reasonaqa.engine.session import release_quarantined

    released, count = release_quarantined(config.output, {"progress": False})
    assert count == 6
    _, result = _run(released)
    assert result.accepted == 6 and not result.quarantined
