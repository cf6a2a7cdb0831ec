"""The grounding and audio-dependence passes end to end on a real llama.cpp server."""

from __future__ import annotations

import asyncio

import pytest

from reasonaqa.backends.base import ChatRequest
from reasonaqa.backends.openai import OpenAIBackend
from reasonaqa.config import DEFAULT_PROMPTS_DIR, EMBEDDED_MODEL_NAME
from reasonaqa.prompts.store import TemplateStore
from reasonaqa.quality.passes import (
    audio_contribution,
    chosen_option,
    is_grounded,
    shuffled_for_grounding,
)
from reasonaqa.schemas import LLM_SCHEMAS, ChoiceVerdict, SupportVerdict
from reasonaqa.testing.servers import llama_server, llama_unavailable

OPTIONS = ["a dog barking", "a cat meowing", "a cow mooing", "a goose honking"]
CAPTIONS = ["A dog barks repeatedly while cars pass by", "A dog is barking near a busy road"]


async def _ask(url: str, requests: list[ChatRequest]) -> list[list[str]]:
    backend = OpenAIBackend(url, EMBEDDED_MODEL_NAME, concurrency=1)
    try:
        return [(await backend.complete(r)).texts for r in requests]
    finally:
        await backend.aclose()


@pytest.mark.slow
def test_passes_end_to_end_on_llama_cpp() -> None:
    if why := llama_unavailable():
        pytest.skip(why)

    store = TemplateStore(DEFAULT_PROMPTS_DIR)
    question, answer = "What animal can be heard in the recording?", "a dog barking"
    shuffled = shuffled_for_grounding(OPTIONS, "rec-1")

    def request(template: str, schema: dict, seed: int, **context: object) -> ChatRequest:
        messages = store.get(template).render(**context)
        return ChatRequest(
            messages=messages,
            schema=schema,
            schema_name="verdict",
            max_tokens=60,
            temperature=0.7,
            seed=seed,
        )

    requests = [
        request(
            "check_grounding_mcq",
            LLM_SCHEMAS["choice"],
            0,
            captions=CAPTIONS,
            question=question,
            options=shuffled,
        ),
        request(
            "check_grounding_detail",
            LLM_SCHEMAS["support"],
            0,
            captions=CAPTIONS,
            question=question,
            answer="A dog barks while cars pass on a busy road.",
        ),
        *(
            request(
                "check_audio_dependence",
                LLM_SCHEMAS["choice"],
                seed,
                question=question,
                options=OPTIONS,
            )
            for seed in range(3)
        ),
    ]
    with llama_server() as url:
        replies = asyncio.run(_ask(url, requests))

    grounding = ChoiceVerdict.model_validate_json(replies[0][0])
    assert isinstance(is_grounded(grounding.answer, shuffled, answer), bool)
    assert isinstance(SupportVerdict.model_validate_json(replies[1][0]).supported, bool)
    votes = [
        chosen_option(ChoiceVerdict.model_validate_json(r[0]).answer, OPTIONS) for r in replies[2:]
    ]
    assert all(vote is None or vote in OPTIONS for vote in votes)
    assert audio_contribution([v for v in votes if v], answer) in ("weak", "strong")
