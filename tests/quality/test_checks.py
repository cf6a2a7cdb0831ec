"""Every deterministic check fires on a crafted bad item and on none of the good ones."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reasonaqa.quality.checks import (
    _MARKUP,
    _META_OPTION,
    _REFUSAL,
    _TEXT_LEAK,
    _VISUAL,
    _WEARING,
    _WORLD_KNOWLEDGE,
    REASONS,
    _is_markup,
    check_detail,
    check_mcq,
    word_keys,
)
from reasonaqa.quality.text import normalize
from reasonaqa.schemas import DetailItem, McqItem

CAPTIONS = [
    "A dog barks repeatedly while cars pass by",
    "Cars drive past as a dog barks",
    "A dog is barking near a busy road",
]


def mcq(question: str, options: list[str], answer: str | None = None) -> McqItem:
    # model_construct: the checks must also catch what the schema would let through or not.
    return McqItem.model_construct(
        question=question, options=options, answer=answer or options[0], focus="sound_events"
    )


def detail(question: str, answer: str) -> DetailItem:
    return DetailItem.model_construct(question=question, answer=answer, focus="semantics")


GOOD_MCQ = [
    mcq(
        "What animal can be heard barking in the recording?", ["a dog", "a cat", "a cow", "a goose"]
    ),
    mcq(
        "Where was this recording most likely made?",
        ["a busy city street", "a quiet forest", "an indoor swimming pool", "a moving train"],
    ),
    mcq(
        "How does the loudness of the engine change over time?",
        [
            "It gradually increases",
            "It gradually decreases",
            "It stays constant",
            "It stops suddenly",
        ],
    ),
    mcq(
        "Which sound is heard first?",
        ["a door slam", "a phone ringing", "footsteps", "a man speaking"],
        "footsteps",
    ),
    mcq(
        "What mood does the soundscape most likely create for a listener?",
        ["calm and relaxed", "tense and alarmed", "joyful and excited", "sad and lonely"],
    ),
    # A negation makes opposites, not two right answers.
    mcq(
        "How would you describe the pitch of the siren over time?",
        ["increasing", "not increasing", "decreasing", "fluctuating"],
    ),
    # The same words in another order are another claim.
    mcq(
        "In what order are the sounds heard?",
        [
            "dog barks then car passes",
            "car passes then dog barks",
            "only a dog barks",
            "only a car passes",
        ],
    ),
    # Naming two options in the question is a choice, not a give-away.
    mcq("Is the barking animal a dog or a cat?", ["a dog", "a cat", "a fox", "a seal"]),
    mcq(
        "How many times does the bell ring?",
        ["once", "twice", "three times", "four times"],
        "twice",
    ),
    # Headline-style English, and "passage" in its physical sense.
    mcq(
        "Complete silence except for occasional birds chirping: which bird is it?",
        ["a crow", "a sparrow", "an owl", "a seagull"],
    ),
    mcq(
        "What marks the passage of time in this recording?",
        ["bell tolls", "a ticking clock", "dripping water", "footsteps"],
    ),
    # Heard, not seen: footwear, materials, timbre, where a sound comes from.
    mcq(
        "What kind of shoes is the woman most likely wearing, judging by her steps?",
        ["high heels", "sneakers", "slippers", "bare feet"],
    ),
    mcq(
        "What is the dog wearing that jingles as it runs?",
        ["a collar with bells", "a yellow raincoat", "a leather leash", "a muzzle"],
    ),
    mcq(
        "What is heard right after the lighting of the stove?",
        ["a pan being set down", "a kettle whistling", "a door closing", "a phone ringing"],
    ),
    mcq(
        "What is the floor most likely made of, judging by the footsteps?",
        ["wood", "carpet", "grass", "mud"],
    ),
    mcq(
        "Where does the loud bang seem to come from?",
        ["far away", "right next to the microphone", "inside the room", "a radio"],
    ),
    mcq(
        "What does the text message alert sound like?",
        ["two short chimes", "a long buzz", "a ringing bell", "a click"],
    ),
    # A degree question's answer is not a give-away: "how fast" / "fast".
    mcq("How fast is the tempo of the drumming?", ["fast", "slow", "it speeds up", "it stalls"]),
    # A graded scale is four claims, and so are counts.
    mcq("How loud is the music?", ["quiet", "moderately loud", "very loud", "extremely loud"]),
    mcq("How long does the ringing last?", ["an hour", "two hours", "a second", "ten seconds"]),
]

GOOD_DETAIL = [
    detail(
        "What is happening in the recording and where might it take place?",
        "A dog barks several times while cars pass, suggesting a residential street near traffic.",
    ),
    detail(
        "How does the sound of the rain change during the clip?",
        "The rain starts softly and grows heavier, with distant thunder rumbling near the end.",
    ),
    detail(
        "Why might a listener feel uneasy hearing this clip?",
        "The repeated, aggressive barking and the rush of fast cars create a sense of danger.",
    ),
]

BAD: list[tuple[str, Any]] = [
    (
        "empty",
        mcq("What animal can be heard barking?", ["...", "a cat", "a cow", "a goose"], "a goose"),
    ),
    ("empty", detail("What is happening in the recording?", "?!")),
    (
        "garbage",
        mcq("What animal <|im_end|> is barking here?", ["a dog", "a cat", "a cow", "a goose"]),
    ),
    (
        "garbage",
        detail(
            "What is happening in the recording?",
            "The dog dog dog dog barks at the cars on the road.",
        ),
    ),
    ("garbage", detail("What is happening in the recording?", "barking " * 12 + "and cars " * 10)),
    (
        "garbage",
        mcq("What animal can be heard barking?", ["a dooooooooog", "a cat", "a cow", "a goose"]),
    ),
    (  # a looping option, as SmolLM2-135M wrote one
        "garbage",
        mcq(
            "What is making the humming noise?",
            ["a fridge", "a fan", "a bee", "motorboat engine. " * 5],
            "a fan",
        ),
    ),
    (
        "non_english",
        mcq(
            "¿Qué animal se escucha ladrando en la grabación?",
            ["un perro", "un gato", "una vaca", "un ganso"],
        ),
    ),
    ("non_english", detail("Какое животное лает на записи?", "Собака громко лает на улице.")),
    (
        "non_english",
        detail(
            "What is happening in the recording?",
            "Un chien aboie pendant que des voitures passent dans la rue.",
        ),
    ),
    (
        "refusal",
        mcq(
            "What animal can be heard barking?",
            ["a dog", "a cat", "It cannot be determined", "a goose"],
        ),
    ),
    (
        "refusal",
        detail(
            "What animal can be heard barking?",
            "I'm sorry, but it is unclear which animal is barking in the clip.",
        ),
    ),
    (
        "refusal",
        detail(
            "What is the exact breed of the dog?",
            "The breed is not specified, so it is impossible to tell from this.",
        ),
    ),
    (
        "text_leak",
        mcq(
            "According to the caption, what animal is barking?",
            ["a dog", "a cat", "a cow", "a goose"],
        ),
    ),
    ("text_leak", mcq("What animal is mentioned barking?", ["a dog", "a cat", "a cow", "a goose"])),
    (
        "text_leak",
        detail(
            "What is happening in the recording?",
            "As described, a dog barks while several cars pass by.",
        ),
    ),
    (
        "text_leak",
        detail(
            "What is happening in the recording?",
            "The description says that a dog barks while cars pass by.",
        ),
    ),
    (
        "meta_option",
        mcq("What animal can be heard barking?", ["a dog", "a cat", "all of the above", "a goose"]),
    ),
    (
        "meta_option",
        mcq("What animal can be heard barking?", ["a dog", "a cat", "both b and c", "a goose"]),
    ),
    ("too_short", mcq("Animal?", ["a dog", "a cat", "a cow", "a goose"])),
    ("too_short", detail("What is happening in the recording?", "A dog.")),
    (
        "too_long",
        mcq(
            "What " + "very " * 45 + "loud animal is barking?",
            ["a dog", "a cat", "a cow", "a goose"],
        ),
    ),
    (
        "too_long",
        detail(
            "What is happening in the recording?",
            " ".join(f"word{i}" for i in range(160)) + " and the dog.",
        ),
    ),
    ("options_count", mcq("What animal can be heard barking?", ["a dog", "a cat", "a cow"])),
    (
        "options_duplicate",
        mcq("What animal can be heard barking?", ["a dog", "A dog.", "a cat", "a cow"]),
    ),
    (
        "answer_not_in_options",
        mcq("What animal can be heard barking?", ["a dog", "a cat", "a cow", "a goose"], "a wolf"),
    ),
    (
        "answer_in_question",
        mcq(
            "Which animal, a dog, is barking in the recording?",
            ["a dog", "a cat", "a cow", "a goose"],
        ),
    ),
    (
        "answer_in_question",
        detail(
            "Is it true that a dog barks loudly in the street here?",
            "a dog barks loudly in the street",
        ),
    ),
    (
        "answer_much_longer",
        mcq(
            "What animal can be heard in the recording?",
            ["a large dog barking loudly at passing cars", "a cat", "a cow", "a goose"],
        ),
    ),
    (
        "distractor_also_correct",
        mcq(
            "What animal can be heard in the recording?",
            ["a dog", "a barking dog", "a cat", "a cow"],
        ),
    ),
    (
        "distractor_also_correct",
        mcq(
            "Which sounds can be heard in the recording?",
            [
                "birds chirping and wind blowing",
                "wind blowing",
                "a car engine starting",
                "rain on a tin roof",
            ],
        ),
    ),
    ("visual", mcq("What colour is the car that honks?", ["red", "blue", "white", "black"])),
    ("visual", mcq("What is the singer wearing?", ["a dress", "a suit", "a coat", "jeans"])),
    ("visual", detail("How sunny is it in the park?", "It is bright and sunny with a clear sky.")),
    (
        "world_knowledge",
        mcq(
            "Which country do bagpipes come from?",
            ["Scotland", "Japan", "Brazil", "Egypt"],
        ),
    ),
    (
        "world_knowledge",
        mcq("What is a church bell usually made of?", ["bronze", "glass", "plastic", "wood"]),
    ),
    (
        "options_paraphrase",
        mcq("How many times does the dog bark?", ["twice", "three times", "thrice", "once"]),
    ),
    (
        "options_paraphrase",
        mcq("How loud is the music?", ["very quiet", "quite loud", "rather loud", "deafening"]),
    ),
    (
        "distractor_also_correct",
        mcq(
            "What vehicle is revving its engine?",
            ["a motorcycle", "a motorbike", "a lawn mower", "a helicopter"],
        ),
    ),
    (
        "distractor_also_correct",
        mcq("What animal is whimpering?", ["a puppy", "a young dog", "a kitten", "a lamb"]),
    ),
    (
        "text_leak",
        mcq("As the notes say, which animal is barking?", ["a dog", "a fox", "a seal", "a goose"]),
    ),
    (
        "text_leak",
        detail(
            "What is happening in the recording?",
            "The given sentences say that a crowd cheers while a whistle blows.",
        ),
    ),
    (
        "copies_caption",
        mcq(
            "What is heard as a dog barks repeatedly while cars pass by?",
            ["a siren", "a horn", "birds", "a man shouting"],
        ),
    ),
    (
        "copies_caption",
        detail(
            "Why does a dog is barking near a busy road here?",
            "It is probably reacting to the noise of the passing traffic.",
        ),
    ),
]


def run_checks(item: Any) -> list[str]:
    if isinstance(item, McqItem):
        return check_mcq(item, CAPTIONS)
    return check_detail(item, CAPTIONS)


@pytest.mark.parametrize("item", GOOD_MCQ + GOOD_DETAIL, ids=lambda item: item.question[:40])
def test_good_items_pass(item: Any) -> None:
    assert run_checks(item) == []


@pytest.mark.parametrize(
    ("code", "item"), BAD, ids=[f"{code}-{i}" for i, (code, _) in enumerate(BAD)]
)
def test_bad_item_fires_its_code(code: str, item: Any) -> None:
    found = run_checks(item)
    assert code in found
    assert all(c in REASONS for c in found)


def test_every_reason_has_a_bad_case_and_a_description() -> None:
    assert {code for code, _ in BAD} == set(REASONS)
    assert all(text and "\n" not in text for text in REASONS.values())


def test_codes_come_in_reasons_order() -> None:
    item = mcq("Animal caption?", ["a dog", "A dog", "a cat", "a cow"])
    found = check_mcq(item, CAPTIONS)
    assert found == [code for code in REASONS if code in found]
    assert {"text_leak", "too_short", "options_duplicate"} <= set(found)


# The phrase rules search for literals before running their regex: every text an
# alternative matches must contain one of the literals listed beside it, or the rule would
# miss it. Hypothesis writes matching texts from each regex.
PHRASE_RULES = {"refusal": _REFUSAL, "meta_option": _META_OPTION}


@pytest.mark.parametrize(
    ("rule", "alternative"),
    [(rule, alt) for rule in PHRASE_RULES.values() for alt in rule.alternatives],
    ids=[
        f"{name}-{i}" for name, rule in PHRASE_RULES.items() for i in range(len(rule.alternatives))
    ],
)
def test_phrase_rule_literals_cover_every_match(rule: Any, alternative: str) -> None:
    @settings(max_examples=100, deadline=None)
    @given(st.from_regex(alternative, fullmatch=True))
    def fires(text: str) -> None:
        assert any(literal in text for literal in rule.alternatives[alternative])
        assert rule.search(text)

    fires()


@settings(max_examples=300, deadline=None)
@given(st.from_regex(_MARKUP, fullmatch=True))
def test_markup_literals_cover_every_match(text: str) -> None:
    assert _is_markup(text)


# The question rules look up word keys instead: every text an alternative matches must hold
# a word whose first four letters are one of the keys listed beside it.
WORD_RULES = {
    "text_leak": _TEXT_LEAK,
    "visual": _VISUAL,
    "wearing": _WEARING,
    "world_knowledge": _WORLD_KNOWLEDGE,
}


@pytest.mark.parametrize(
    ("rule", "alternative"),
    [(rule, alt) for rule in WORD_RULES.values() for alt in rule.alternatives],
    ids=[f"{name}-{i}" for name, rule in WORD_RULES.items() for i in range(len(rule.alternatives))],
)
def test_word_rule_keys_cover_every_match(rule: Any, alternative: str) -> None:
    keys = rule.alternatives[alternative]
    assert all(len(key) <= 4 for key in keys)

    @settings(max_examples=100, deadline=None)
    @given(st.from_regex(alternative, fullmatch=True))
    def fires(text: str) -> None:
        found = word_keys(normalize(text).split())
        assert not found.isdisjoint(keys)
        assert rule.search(text, found)

    fires()
