"""The grounding and audio-dependence passes: pure parts, then end to end on llama.cpp."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from reasonaqa.backends.base import ChatRequest
from reasonaqa.backends.openai import OpenAIBackend
from reasonaqa.config import DEFAULT_PROMPTS_DIR
from reasonaqa.embedded_model import EMBEDDED_MODEL_NAME
from reasonaqa.errors import InputError
from reasonaqa.prompts import TemplateStore
from reasonaqa.quality.passes import (
    audio_contribution,
    choice_schema,
    chosen_option,
    is_grounded,
    shuffled_for_grounding,
)
from reasonaqa.schemas import ChoiceVerdict, SupportVerdict, llm_json_schema

OPTIONS = ["a dog barking", "a cat meowing", "a cow mooing", "a goose honking"]
CAPTIONS = ["A dog barks repeatedly while cars pass by", "A dog is barking near a busy road"]


def test_grounding_shuffle_moves_every_option() -> None:
    for i in range(200):
        shuffled = shuffled_for_grounding(OPTIONS, f"rec-{i}")
        assert sorted(shuffled) == sorted(OPTIONS)
        assert all(a != b for a, b in zip(shuffled, OPTIONS, strict=True))
    assert shuffled_for_grounding(OPTIONS, "k") == shuffled_for_grounding(OPTIONS, "k")
    assert len({tuple(shuffled_for_grounding(OPTIONS, f"r{i}")) for i in range(100)}) == 9


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("a dog barking", "a dog barking"),
        ("A cat meowing.", "a cat meowing"),
        ("b", "a cat meowing"),
        ("(c)", "a cow mooing"),
        ("d) a goose honking", "a goose honking"),
        ("B) a dog barking", "a dog barking"),  # the text wins over a wrong letter
        ("The answer is a cow mooing", "a cow mooing"),
        ("a dog barking or a cat meowing", None),
        ("a horse neighing", None),
    ],
)
def test_chosen_option(reply: str, expected: str | None) -> None:
    assert chosen_option(reply, OPTIONS) == expected


def test_is_grounded() -> None:
    assert is_grounded(
        "c", ["a cat meowing", "a cow mooing", "a dog barking", "x"], "a dog barking"
    )
    assert not is_grounded("a cat meowing", OPTIONS, "a dog barking")
    assert not is_grounded("no idea", OPTIONS, "a dog barking")


def test_audio_contribution_is_weak_on_a_strict_majority() -> None:
    answer = "a dog barking"
    assert audio_contribution([answer, "A dog barking.", "a cat meowing"], answer) == "weak"
    assert audio_contribution([answer, "a cat meowing", "a cow mooing"], answer) == "strong"
    assert audio_contribution([answer, answer, "x", "y"], answer) == "strong"
    assert audio_contribution([answer], answer) == "weak"
    with pytest.raises(ValueError):
        audio_contribution([], answer)


def test_choice_schema_limits_the_answer_to_the_options() -> None:
    schema = choice_schema(OPTIONS)
    assert schema["properties"]["answer"]["enum"] == OPTIONS
    assert schema["required"] == ["answer"]
    assert "enum" not in llm_json_schema(ChoiceVerdict)["properties"]["answer"]


def test_templates_render_with_the_documented_variables() -> None:
    store = TemplateStore(DEFAULT_PROMPTS_DIR)
    system, user = store.get("check_grounding_mcq").render(
        captions=CAPTIONS, question="What animal is heard?", options=OPTIONS
    )
    assert "JSON" in system["content"] and "d) a goose honking" in user["content"]
    assert "- A dog is barking near a busy road\n" in user["content"]
    _, user = store.get("check_audio_dependence").render(question="Q?", options=OPTIONS)
    assert "barks" not in user["content"] and "a) a dog barking" in user["content"]
    _, user = store.get("check_grounding_detail").render(
        captions=CAPTIONS, question="Q?", answer="A dog barks."
    )
    assert "Answer: A dog barks." in user["content"]
    with pytest.raises(InputError, match="undefined"):
        store.get("check_audio_dependence").render(question="Q?")


# --- end to end on a real llama.cpp server -------------------------------------------------


def _need_llama() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed")
    from reasonaqa.embedded_model import smollm2_gguf_path

    try:
        smollm2_gguf_path()
    except InputError as err:
        pytest.skip(str(err))


async def _ask(url: str, requests: list[ChatRequest]) -> list[list[str]]:
    backend = OpenAIBackend(url, EMBEDDED_MODEL_NAME, concurrency=1)
    try:
        return [(await backend.complete(r)).texts for r in requests]
    finally:
        await backend.aclose()


@pytest.mark.slow
def test_passes_end_to_end_on_llama_cpp() -> None:
    _need_llama()
    from reasonaqa.testing.servers import llama_server

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
            choice_schema(shuffled),
            0,
            captions=CAPTIONS,
            question=question,
            options=shuffled,
        ),
        request(
            "check_grounding_detail",
            llm_json_schema(SupportVerdict),
            0,
            captions=CAPTIONS,
            question=question,
            answer="A dog barks while cars pass on a busy road.",
        ),
        *(
            request(
                "check_audio_dependence",
                choice_schema(OPTIONS),
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
    assert grounding.answer in shuffled  # the enum keeps even a 135M model on the options
    assert isinstance(is_grounded(grounding.answer, shuffled, answer), bool)
    assert isinstance(SupportVerdict.model_validate_json(replies[1][0]).supported, bool)
    votes = [
        chosen_option(ChoiceVerdict.model_validate_json(r[0]).answer, OPTIONS) for r in replies[2:]
    ]
    assert all(vote in OPTIONS for vote in votes)
    assert audio_contribution([v for v in votes if v], answer) in ("weak", "strong")
