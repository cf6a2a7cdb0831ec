"""Request building, as pure functions: generation, feedback and length retries, judges.

The engine, the benchmarks and the tests build every LLM request here, so a request is
built one way: the same item gives the same request, hence the same cache key.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reasonaqa.backends.base import ChatRequest, Message
from reasonaqa.config import SamplingConfig
from reasonaqa.engine.work import FOCUS_DESCRIPTIONS, WorkItem, derive_seed
from reasonaqa.schemas import LLM_CONTRACTS, LLM_SCHEMAS, Clip

# Judges answer briefly and near-greedily; votes keep some temperature to differ.
JUDGE_MAX_TOKENS = 128
VOTE_TEMPERATURE = 0.7


def render_context(clip: Clip, caption_index: int, focus: str) -> dict[str, Any]:
    """The variables a generation template sees."""
    return {
        "captions": list(clip.captions),
        "caption": clip.captions[caption_index],
        "focus": focus,
        "focus_description": FOCUS_DESCRIPTIONS[focus],
        "dataset": clip.dataset,
    }


def item_context(item: WorkItem) -> dict[str, Any]:
    return render_context(item.clip, item.caption_index, item.focus)


def generation_request(
    item: WorkItem, messages: tuple[Message, ...], sampling: SamplingConfig
) -> ChatRequest:
    """Ask for one item of the work item's task, in its contract's JSON schema."""
    return ChatRequest(
        messages=messages,
        schema=LLM_SCHEMAS[item.task],
        schema_name=LLM_CONTRACTS[item.task].__name__,
        max_tokens=sampling.max_tokens,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        seed=item.seed,
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
