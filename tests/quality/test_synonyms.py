"""Canonical option wording: paraphrases meet, different claims stay apart."""

from __future__ import annotations

import pytest

from reasonaqa.quality import synonyms
from reasonaqa.quality.checks import _field
from reasonaqa.quality.synonyms import stem


def meaning(text: str) -> tuple[str, ...]:
    """What the option checks compare: canonical words without fillers."""
    return _field(text).meaning()


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("barking", "bark"),
        ("barks", "bark"),
        ("barked", "bark"),
        ("running", "run"),
        ("buzzing", "buzz"),
        ("hissing", "hiss"),
        ("cries", "cry"),
        ("crying", "cry"),
        ("closes", "clos"),
        ("closed", "clos"),
        ("close", "clos"),
        ("glasses", "glass"),
        ("glass", "glass"),
        ("string", "string"),  # no vowel left after "ing"
        ("speed", "speed"),  # "ed" after "e" is not a suffix
        ("bees", "bee"),
        ("notes", "notes"),  # never a negation
        ("nothing", "nothing"),
        ("bus", "bus"),
    ],
)
def test_stem(word: str, expected: str) -> None:
    assert stem(word) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("thrice", "three times"),
        ("once", "one time"),
        ("seven", "7 times"),
        ("twice", "a couple of times"),
        ("quite loud", "rather loud"),
        ("a motorbike", "a motorcycle"),
        ("motorbikes", "motorcycles"),
        ("a puppy", "a young dog"),
        ("an infant crying", "a baby cries"),
        ("high-pitched", "shrill"),
        ("a deep voice", "a low-pitched voice"),
        ("It stays constant", "It remains steady"),
        ("It does not change", "It stays the same"),
        ("far away", "in the distance"),
        ("a car honking", "a car horn"),
        ("a man talking", "a man speaking"),
        ("on and off", "intermittently"),
        ("peaceful", "tranquil"),
    ],
)
def test_paraphrases_meet(a: str, b: str) -> None:
    assert meaning(a) == meaning(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("loud", "very loud"),
        ("very loud", "extremely loud"),
        ("quite loud", "very loud"),
        ("several times", "many times"),
        ("large", "huge"),
        ("twice", "three times"),
        ("increasing", "not increasing"),
        ("a dog", "a wolf"),
        ("rain falling", "rain decreasing"),
        ("a crowd cheering", "a busy street"),
        ("a bicycle", "a motorcycle"),
        ("a kitten", "a cat"),
    ],
)
def test_different_claims_stay_apart(a: str, b: str) -> None:
    assert meaning(a) != meaning(b)


def test_a_word_in_two_groups_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synonyms, "_GROUPS", {"car": ("auto",), "truck": ("autos",)})
    with pytest.raises(ValueError, match="two groups"):
        synonyms._load()
