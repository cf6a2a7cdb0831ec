"""Exact and near-duplicate questions per clip, with the documented threshold."""

from __future__ import annotations

import pytest

from reasonaqa.quality.dedup import clip_duplicates, shingles
from reasonaqa.quality.text import normalize


def test_exact_duplicates_after_normalizing() -> None:
    questions = ["What animal is barking?", "what animal is  barking", "WHAT ANIMAL IS BARKING?!"]
    assert clip_duplicates(questions) == [None, "duplicate_exact", "duplicate_exact"]


def test_one_question_is_never_a_duplicate() -> None:
    assert clip_duplicates(["What is the loudest sound?"]) == [None]
    assert clip_duplicates([]) == []


def test_documented_examples_of_the_threshold() -> None:
    reworded = (
        "What is the primary sound in the audio?",
        "What is the primary sound heard in the audio?",
    )
    different = ("Is the dog barking loudly?", "Is the dog barking softly?")
    assert jaccard(*reworded) == pytest.approx(13 / 17)
    assert jaccard(*different) == pytest.approx(7 / 11)
    assert clip_duplicates([*reworded, *different], threshold=0.7) == [
        None,
        "duplicate_near",
        None,
        None,
    ]


def test_a_question_at_exactly_the_threshold_is_a_duplicate() -> None:
    first = "a b c d e f g"  # 7 words + 6 pairs = 13 shingles
    second = "a b c d e f g h"  # 8 + 7 = 15, all of the first's among them
    assert jaccard(first, second) == pytest.approx(13 / 15)
    assert clip_duplicates([first, second], threshold=13 / 15) == [None, "duplicate_near"]


def test_different_questions_about_one_clip_are_kept() -> None:
    questions = [
        "What animal can be heard barking?",
        "Where was this recording most likely made?",
        "How does the loudness of the traffic change over time?",
        "What mood does the soundscape create for a listener?",
        "Which sound is heard first, the barking or the cars?",
        "What is the dog most likely reacting to?",
        "Does the dog bark before the bird sings?",
        "Does the bird sing before the dog barks?",
    ]
    assert clip_duplicates(questions) == [None] * len(questions)
    assert shingles("a b") == {"a", "b", "a b"}


def test_duplicates_are_compared_with_kept_questions_only() -> None:
    # The third is near the second, which was dropped as a duplicate of the first: the
    # third is compared with the first only.
    questions = ["a b c d e f", "a b c d e f g", "a b c d e f g h i"]
    assert jaccard(questions[0], questions[2]) < 0.7 <= jaccard(questions[1], questions[2])
    assert clip_duplicates(questions) == [None, "duplicate_near", None]


def test_threshold_must_be_a_fraction() -> None:
    with pytest.raises(ValueError):
        clip_duplicates(["a", "b"], threshold=0)
    with pytest.raises(ValueError):
        clip_duplicates(["a", "b"], threshold=1.5)


def jaccard(a: str, b: str) -> float:
    """Shingle Jaccard similarity of two questions: what ``clip_duplicates`` compares."""
    sa, sb = shingles(normalize(a)), shingles(normalize(b))
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0
