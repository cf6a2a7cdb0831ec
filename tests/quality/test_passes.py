"""The grounding and audio-dependence passes: the pure parts (end to end: integration/)."""

from __future__ import annotations

import pytest

from reasonaqa.config import DEFAULT_PROMPTS_DIR
from reasonaqa.errors import InputError
from reasonaqa.prompts.store import TemplateStore
from reasonaqa.quality.passes import (
    audio_contribution,
    chosen_option,
    is_grounded,
    read_choice,
    read_support,
    shuffled_for_grounding,
)

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


def test_verdict_replies_are_read_or_none() -> None:
    assert read_choice('{"answer": "a dog barking"}') == "a dog barking"
    assert read_support('{"supported": false}') is False
    for broken in ("", "yes", '{"answer": 3}', '{"supported": "maybe"}', "[1]"):
        assert read_choice(broken) is None and read_support(broken) is None


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
