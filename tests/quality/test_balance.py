"""Answer-position balance: letters dealt per split, answers placed, the longest-answer rate."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from reasonaqa.quality.balance import balanced_letters, correct_is_longest, place_answer
from reasonaqa.quality.checks import check_mcq
from reasonaqa.schemas import LETTERS, McqItem


@pytest.mark.parametrize("n", [1, 7, 1000, 4321])
def test_each_letter_within_one_item(n: int) -> None:
    letters = balanced_letters([f"rec-{i}" for i in range(n)], seed=3)
    counts = Counter(letters.values())
    assert len(letters) == n
    assert max(counts.values()) - min(counts.get(letter, 0) for letter in LETTERS) <= 1


def test_letters_depend_on_the_set_and_seed_not_the_order() -> None:
    ids = [f"clip{i}/mcq/{i % 5}" for i in range(500)]
    shuffled = random.Random(1).sample(ids, len(ids))
    assert balanced_letters(ids, seed=0) == balanced_letters(shuffled, seed=0)
    assert balanced_letters(ids + ids[:10], seed=0) == balanced_letters(ids, seed=0)
    assert balanced_letters(ids, seed=0) != balanced_letters(ids, seed=1)
    # A letter is not a function of the id's position in sorted order.
    in_order = [balanced_letters(ids, seed=0)[rid] for rid in sorted(ids)[:40]]
    assert in_order != [LETTERS[i % 4] for i in range(40)]


def test_place_answer_puts_the_answer_at_its_letter() -> None:
    options = ["a dog", "a cat", "a cow", "a goose"]
    for letter in LETTERS:
        placed = place_answer(options, "A dog.", letter, key="rec-1")
        assert placed[LETTERS.index(letter)] == "a dog"  # the option's own text is kept
        assert sorted(placed) == sorted(options)
    assert place_answer(options, "a dog", "c", "rec-1") == place_answer(
        options, "a dog", "c", "rec-1"
    )
    orders = {tuple(place_answer(options, "a dog", "a", f"rec-{i}")) for i in range(50)}
    assert len(orders) == 6  # every order of the three distractors turns up


def test_place_answer_refuses_an_answer_that_is_not_one_option() -> None:
    with pytest.raises(ValueError):
        place_answer(["a dog", "a cat", "a cow", "a goose"], "a wolf", "a", "k")
    with pytest.raises(ValueError):
        place_answer(["a dog", "a cat", "a cow"], "a dog", "a", "k")


def test_correct_is_longest() -> None:
    assert correct_is_longest(["a barking dog", "a cat", "a cow", "a goose"], "a barking dog")
    assert not correct_is_longest(["a dog", "a cat", "a cow", "a goose"], "a dog")
    assert not correct_is_longest(["a dogs", "a cats", "a cow", "a goose"], "a dogs")  # a tie


def _llm_like_item(rng: random.Random, index: int) -> McqItem:
    """Options of made-up words (disjoint, 3-9 letters); like an LLM that elaborates the
    right answer, 45% of answers get one or two extra words."""
    words = [
        "".join(rng.choices("bdfgklmnprstvz", k=rng.randint(3, 9))) + f"{index}q{k}"
        for k in range(20)
    ]
    options = [" ".join(words[5 * k : 5 * k + rng.randint(1, 3)]) for k in range(4)]
    if rng.random() < 0.45:
        options[0] += " " + " ".join(words[3 : 3 + rng.randint(1, 2)])
    return McqItem(
        question=f"What is heard in recording number {index}?",
        options=options,
        answer=options[0],
        focus="sound_events",
    )


def test_a_thousand_accepted_mcqs_are_balanced_and_rarely_longest() -> None:
    rng = random.Random(7)
    generated = {f"train/{i}": _llm_like_item(rng, i) for i in range(1600)}
    accepted = {
        rid: item
        for rid, item in generated.items()
        if not check_mcq(item, captions=["a made-up recording"])
    }
    assert len(accepted) >= 1000
    letters = balanced_letters(list(accepted), seed=0)
    placed = {
        rid: place_answer(item.options, item.answer, letters[rid], rid)
        for rid, item in accepted.items()
    }
    shares = Counter(LETTERS[p.index(accepted[rid].answer)] for rid, p in placed.items())
    for letter in LETTERS:
        assert abs(shares[letter] / len(accepted) - 0.25) <= 0.01

    def longest_rate(items: dict[str, McqItem]) -> float:
        return sum(correct_is_longest(i.options, i.answer) for i in items.values()) / len(items)

    # The bias is real before the checks and within bounds after them.
    assert longest_rate(generated) > 0.35
    assert longest_rate(accepted) <= 0.30
