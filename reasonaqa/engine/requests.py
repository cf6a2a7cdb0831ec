"""Request building, as pure functions: generation, feedback and length retries, judges.

The engine, the benchmarks and the tests build every LLM request here, so a request is
built one way: the same item gives the same request, hence the same cache key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from reasonaqa.backends.base import ChatRequest, Message
from reasonaqa.config import SamplingConfig
from reasonaqa.engine.work import FOCUS_DESCRIPTIONS, WorkItem, derive_seed
from reasonaqa.schemas import LLM_CONTRACTS, LLM_SCHEMAS, Clip, batch_contract, batch_json_schema

# Judges answer briefly and near-greedily; votes keep some temperature to differ.
JUDGE_MAX_TOKENS = 128
VOTE_TEMPERATURE = 0.7


def render_context(clip: Clip, caption_index: int, focuses: Sequence[str]) -> dict[str, Any]:
    """The variables a generation template sees: ``count`` questions, one per focus area.

    ``focus`` and ``focus_description`` are the first area's, all a one-question template uses.
    """
    return {
        "captions": list(clip.captions),
        "caption": clip.captions[caption_index],
        "count": len(focuses),
        "focus": focuses[0],
        "focus_description": FOCUS_DESCRIPTIONS[focuses[0]],
        "focuses": [{"name": f, "description": FOCUS_DESCRIPTIONS[f]} for f in focuses],
        "dataset": clip.dataset,
    }


def group_context(items: Sequence[WorkItem]) -> dict[str, Any]:
    """The template variables of the request that serves ``items`` (one caption's samples)."""
    first = items[0]
    return render_context(first.clip, first.caption_index, [item.focus for item in items])


def generation_request(
    items: Sequence[WorkItem], messages: tuple[Message, ...], sampling: SamplingConfig
) -> ChatRequest:
    """Ask for the items' questions in one request, seeded by the first item's seed.

    One item: its task's contract, as ever. K items: ``{"items": [...]}`` with exactly K of
    them (``schemas.batch_contract``), and K times the room, as ``max_tokens`` is per item.
    """
    first, count = items[0], len(items)
    if count == 1:
        schema, contract = LLM_SCHEMAS[first.task], LLM_CONTRACTS[first.task]
    else:
        schema, contract = batch_json_schema(first.task, count), batch_contract(first.task, count)
    return ChatRequest(
        messages=messages,
        schema=schema,
        schema_name=contract.__name__,
        max_tokens=sampling.max_tokens * count,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        seed=first.seed,
    )


def feedback_request(request: ChatRequest, reply: str, error: str) -> ChatRequest:
    """The same conversation plus the invalid reply and what was wrong with it."""
    return replace(
        request,
        messages=(
            *request.messages,
            {"role": "assistant", "content": reply},
            {
                "role": "user",
                "content": f"That reply was invalid: {error} "
                "Reply again with only the corrected JSON object.",
            },
        ),
    )


def longer_request(request: ChatRequest) -> ChatRequest:
    """The same request with twice the room, after a reply was cut off."""
    return replace(request, max_tokens=request.max_tokens * 2)


def judge_request(
    messages: tuple[Message, ...], kind: str, run_seed: int, record_id: str, name: str, n: int = 1
) -> ChatRequest:
    """A second-pass request: ``kind`` is the verdict contract (choice or support); ``name``
    (grounding, audio) keeps the seeds of different passes of one record apart."""
    return ChatRequest(
        messages=messages,
        schema=LLM_SCHEMAS[kind],
        schema_name=kind,
        max_tokens=JUDGE_MAX_TOKENS,
        temperature=VOTE_TEMPERATURE if n > 1 else 0.0,
        top_p=1.0,
        seed=derive_seed(run_seed, record_id, name),
        n=n,
    )
