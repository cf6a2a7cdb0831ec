"""Exact and near-duplicate questions per clip, with the documented threshold."""

from __future__ import annotations

import pytest

from reasonaqa.quality.dedup import DuplicateFilter, MinHasher, jaccard, shingles
from reasonaqa.quality.text import normalize


def test_exact_duplicates_after_normalizing() -> None:
    seen = DuplicateFilter()
    assert seen.check("audiocaps/clip1", "What animal is barking?") is None
    assert seen.check("audiocaps/clip1", "what animal is  barking") == "duplicate_exact"
    assert seen.check("audiocaps/clip1", "WHAT ANIMAL IS BARKING?!") == "duplicate_exact"
    assert seen.remembered == 1


def test_other_clips_are_never_duplicates() -> None:
    seen = DuplicateFilter()
    for i in range(20):
        assert seen.check(f"clotho/clip{i}", "What is the loudest sound?") is None
    assert seen.remembered == 20


def test_documented_examples_of_the_threshold() -> None:
    reworded = (
        "What is the primary sound in the audio?",
        "What is the primary sound heard in the audio?",
    )
    different = ("Is the dog barking loudly?", "Is the dog barking softly?")
    assert jaccard(*reworded) == pytest.approx(13 / 17)
    assert jaccard(*different) == pytest.approx(7 / 11)
    seen = DuplicateFilter(threshold=0.7)
    assert seen.check("c", reworded[0]) is None
    assert seen.check("c", reworded[1]) == "duplicate_near"
    assert seen.check("c", different[0]) is None
    assert seen.check("c", different[1]) is None


def test_different_questions_about_one_clip_are_kept() -> None:
    seen = DuplicateFilter()
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
    assert [seen.check("clip", q) for q in questions] == [None] * len(questions)
    assert shingles("a b") == {"a", "b", "a b"}


def test_minhash_estimates_jaccard() -> None:
    hasher = MinHasher(num_perm=512)
    pairs = [
        (
            "What is the primary sound in the audio?",
            "What is the primary sound heard in the audio?",
        ),
        ("Is the dog barking loudly?", "Is the dog barking softly?"),
        ("What animal is barking?", "Where was the clip recorded?"),
    ]
    for a, b in pairs:
        sig_a = hasher.signature(shingles(normalize(a)))
        sig_b = hasher.signature(shingles(normalize(b)))
        assert (sig_a == sig_b).mean() == pytest.approx(jaccard(a, b), abs=0.07)


def test_same_answers_from_a_fresh_filter() -> None:
    questions = [f"What happens at second {i % 7} of the clip?" for i in range(30)]
    first, second = DuplicateFilter(), DuplicateFilter()
    assert [first.check("k", q) for q in questions] == [second.check("k", q) for q in questions]


def test_threshold_must_be_a_fraction() -> None:
    with pytest.raises(ValueError):
        DuplicateFilter(threshold=0)
    with pytest.raises(ValueError):
        DuplicateFilter(threshold=1.5)
