"""K questions per request (``--per-request 5``) in-process: accept, partial replies, resume."""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd
import pytest

from reasonaqa.backends.base import BackendError, ChatRequest
from reasonaqa.config import GenerateConfig
from reasonaqa.engine.generate import generate
from reasonaqa.engine.journal import Journal
from reasonaqa.engine.session import RunResult, release_quarantined
from reasonaqa.schemas import ITEMS_KEY
from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.runs import comparable_rows
from reasonaqa.testing.scripted import Script, ScriptedBackend, requested_items, valid_reply

K = 5
ITEMS = 30  # three clips, two captions each, five samples per caption


@pytest.fixture
def k5(config: GenerateConfig) -> GenerateConfig:
    return config.model_copy(update={"per_caption": K, "per_request": K})


def _run(config: GenerateConfig, script=valid_reply) -> tuple[ScriptedBackend, RunResult]:
    backend = ScriptedBackend(script)
    return backend, generate(config, backend)


def _generation(backend: ScriptedBackend) -> list[ChatRequest]:
    return [r for r in backend.requests if r.schema_name.startswith("McqItem")]


def _lists(edit: Callable[[list[dict]], list[dict]], first_reply_only: bool = False) -> Script:
    """A script that answers a K-item request with ``edit`` applied to a valid list.

    Lists are numbered by generation request, a feedback request getting its request's list
    (one group is in flight at a time with this backend), so no question repeats in a clip.
    """
    asked: list[int] = []

    def script(request: ChatRequest, index: int) -> str:
        if not requested_items(request):
            return valid_reply(request, index)
        first = len(request.messages) == 2
        if first:
            asked.append(len(asked))
        items = json.loads(valid_reply(request, asked[-1]))[ITEMS_KEY]
        if first or not first_reply_only:
            items = edit(items)
        return json.dumps({ITEMS_KEY: items})

    return script


def test_one_request_per_caption_gives_five_records_with_their_own_ids(
    k5: GenerateConfig, config: GenerateConfig
) -> None:
    backend, result = _run(k5)
    assert result.accepted == ITEMS and not result.rejected and not result.quarantined
    assert len(_generation(backend)) == ITEMS // K
    rows = pd.read_parquet(k5.output)
    assert rows["record_id"].is_unique and rows["seed"].is_unique
    assert sorted(rows.groupby(["clip_id", "caption_index"])["sample_index"].apply(list).sum()) == (
        sorted(list(range(K)) * (ITEMS // K))
    )
    # A record id names the sample, not the request: the same ids as five requests of one.
    one_by_one = config.model_copy(update={"per_caption": K, "output": config.output.parent / "k1"})
    _, _ = _run(one_by_one)
    assert set(rows["record_id"]) == set(pd.read_parquet(one_by_one.output)["record_id"])
    # Each request asks for five distinct focus areas, in the items' order.
    focus_lines = [
        line
        for line in _generation(backend)[0].messages[1]["content"].splitlines()
        if "(focus" in line
    ]
    assert len(focus_lines) == K and len(set(focus_lines)) == K


def test_a_reply_with_fewer_items_keeps_them_and_asks_again_for_the_rest(
    k5: GenerateConfig,
) -> None:
    backend, result = _run(k5, _lists(lambda items: items[:3], first_reply_only=True))
    assert result.accepted == ITEMS
    feedback = [r for r in _generation(backend) if len(r.messages) == 4]
    assert len(feedback) == ITEMS // K
    assert "items.3: missing." in feedback[0].messages[-1]["content"]


def test_items_still_missing_after_the_feedback_are_quarantined_alone(
    k5: GenerateConfig,
) -> None:
    _, result = _run(k5, _lists(lambda items: items[:3]))
    assert result.accepted == ITEMS * 3 // K
    assert result.counts.quarantined == {"schema": ITEMS * 2 // K}
    quarantined = pd.read_parquet(RunPaths(k5.output).quarantine)
    assert set(quarantined["sample_index"]) == {3, 4}


def test_an_item_that_breaks_the_contract_is_quarantined_as_semantic(k5: GenerateConfig) -> None:
    def second_repeats_an_option(items: list[dict]) -> list[dict]:
        items[1]["options"][3] = items[1]["options"][2]
        return items

    _, result = _run(k5, _lists(second_repeats_an_option))
    assert result.counts.quarantined == {"semantic": ITEMS // K}
    assert result.accepted == ITEMS - ITEMS // K


def test_a_failed_request_quarantines_its_items(k5: GenerateConfig) -> None:
    _, result = _run(k5, lambda r, i: BackendError("transport", "connection refused"))
    assert result.counts.quarantined == {"transport": ITEMS}


def test_resume_redoes_only_missing_items_from_the_cache_and_skips_done_requests(
    k5: GenerateConfig,
) -> None:
    _run(k5)
    first = comparable_rows(k5.output)
    # A kill after a partial commit: two items of one request and a whole other request lost.
    journal = Journal(RunPaths(k5.output).journal)
    by_caption = first.groupby(["clip_id", "caption_index"])["record_id"].apply(list).tolist()
    journal.delete_records([*by_caption[0][1:3], *by_caption[1]])
    journal.commit()
    journal.close()
    backend, result = _run(k5)
    assert backend.requests == [], "every reply is in the journal: nothing is asked again"
    assert result.accepted == ITEMS
    pd.testing.assert_frame_equal(comparable_rows(k5.output), first)
    backend, _ = _run(k5)
    assert backend.requests == []


def test_second_passes_run_per_item_with_its_own_seeds(k5: GenerateConfig) -> None:
    backend, result = _run(k5.model_copy(update={"grounding": True, "audio_votes": 2}))
    assert result.accepted == ITEMS
    judges = [r for r in backend.requests if r.schema_name == "choice"]
    assert len(judges) == 2 * ITEMS and len({r.seed for r in judges}) == 2 * ITEMS


def test_per_request_above_per_caption_is_refused(config: GenerateConfig) -> None:
    with pytest.raises(ValueError, match="per_request"):
        GenerateConfig.model_validate(config.model_dump() | {"per_request": 2})


def test_retry_failed_redoes_only_the_quarantined_items_of_a_request(k5: GenerateConfig) -> None:
    _run(k5, _lists(lambda items: items[:3]))
    kept = comparable_rows(k5.output)
    released, count = release_quarantined(k5.output, {"progress": False})
    assert count == ITEMS * 2 // K
    backend, result = _run(released)
    assert result.accepted == ITEMS and not result.quarantined
    assert len(_generation(backend)) == ITEMS // K, "each request asked once more, whole"
    again = comparable_rows(k5.output)
    again = again[again["record_id"].isin(kept["record_id"])].reset_index(drop=True)
    # The items kept before are kept as they were (letters are dealt again over the split).
    same = ["record_id", "question", "answer", "raw", "seed", "sample_index"]
    pd.testing.assert_frame_equal(again[same], kept[same])
