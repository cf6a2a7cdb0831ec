"""A small MMAU-format file (2, 4, 5 and 8 choices) with hand-scored predictions, and the
official MMAU rule written out independently of the code under test."""

from __future__ import annotations

import json
import re
from pathlib import Path

KEYS = ["C major", "D minor", "E major", "a minor", "G major"]
PEOPLE = ["Man", "Woman", "Child", "Robot"]
# (item, prediction): hand-scored as (letter, MMAU rule on our form, on option text only)
MMAU_ITEMS = [
    (
        {
            "question": "Is a dog there?",
            "choices": ["yes", "no"],
            "answer": "yes",
            "task": "sound",
            "category": "Event",
        },
        "a) yes",
        (True, True, True),
    ),
    (
        {
            "question": "Who speaks?",
            "choices": PEOPLE,
            "answer": "Woman",
            "task": "sound",
            "category": "Source",
        },
        "a) man",
        (False, False, False),
    ),
    (  # the letter "d" is a word of another option ("D minor"): only the text form scores
        {
            "question": "Which key?",
            "choices": KEYS,
            "answer": "a minor",
            "task": "music",
            "category": "Key",
        },
        "d) a minor",
        (True, False, True),
    ),
    (  # a bare letter scores zero under the official rule
        {
            "question": "How many beats?",
            "choices": [str(i) for i in range(1, 9)],
            "answer": "3",
            "task": "music",
            "category": "Rhythm",
        },
        "c",
        (True, False, False),
    ),
    (  # a word of another option ("man") in the answer: wrong under the rule
        {
            "question": "Who laughs?",
            "choices": PEOPLE,
            "answer": "Woman",
            "task": "speech",
            "category": "Speaker",
        },
        "b) a woman and a man",
        (True, False, False),
    ),
]


def write_mmau(path: Path, audio: str = "clip.wav") -> Path:
    rows = [
        {"id": f"q{i}", "audio_id": f"./{audio}", **item, "sub-category": "x", "difficulty": "easy"}
        for i, (item, _, _) in enumerate(MMAU_ITEMS)
    ]
    path.write_text(json.dumps(rows))
    return path


def official_rule(prediction: str, choices: list[str], answer: str) -> bool:
    """MMAU's rule written out independently: answer words all said, no other option's."""

    def words(text: str) -> set[str]:
        return set(re.findall(r"\b\w+\b", text.lower()))

    said, wanted = words(prediction), words(answer)
    others = set().union(*(words(c) - wanted for c in choices if words(c) != wanted))
    return bool(said) and wanted <= said and not said & others
