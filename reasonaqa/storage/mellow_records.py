"""Mellow's released ReasonAQA record format: how an MCQ reads inline, one home for writer
and readers (the Mellow export, the trainer, ``reasonaqa check``).

A record is a JSON object with the ``MELLOW_KEYS`` (SPEC.md §1). An MCQ's ``input`` carries
its options inline (``question a) .. b) .. c) .. d) ..``; MMAU and MMAR items have 2 to 8,
up to ``h)``) and its ``answer`` begins with the letter (``b) chirping birds``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# The released record, which Mellow's own trainer reads: exactly these keys, in order.
MELLOW_KEYS: tuple[str, ...] = (
    "taskname",
    "filepath1",
    "filepath2",
    "caption1",
    "caption2",
    "input",
    "answer",
    "subtype",
)
CHOICE_LETTERS = "abcdefgh"
MIN_CHOICES = 2
_MARKERS = {
    letter: re.compile(rf"(?:^|\s){letter}\)\s*", re.IGNORECASE) for letter in CHOICE_LETTERS
}


def inline_mcq(question: str, options: Iterable[str]) -> str:
    """``question a) x b) y ...``: how an MCQ's prompt reads."""
    inline = " ".join(
        f"{letter}) {text}" for letter, text in zip(CHOICE_LETTERS, options, strict=False)
    )
    return f"{question} {inline}"


def lettered(letter: str, option: str) -> str:
    """``b) option``: how an MCQ's answer reads."""
    return f"{letter}) {option}"


def split_inline_options(text: str) -> tuple[str, tuple[str, ...]] | None:
    """``question a) x b) y ...`` -> (question, options); None unless a) and b) are there."""
    text = text.strip()
    starts: list[tuple[int, int]] = []  # (marker start, text start) of a), b), ...
    position = 0
    for letter in CHOICE_LETTERS:
        match = _MARKERS[letter].search(text, position)
        if match is None:
            break
        starts.append((match.start(), match.end()))
        position = match.end()
    if len(starts) < MIN_CHOICES:
        return None
    ends = [start for start, _ in starts[1:]] + [len(text)]
    options = tuple(text[begin:end].strip() for (_, begin), end in zip(starts, ends, strict=True))
    if not all(options):
        return None
    return text[: starts[0][0]].strip(), options


def answer_letter(answer: str) -> str | None:
    """The letter an MCQ answer starts with (``b) ...`` -> ``b``), None when there is none."""
    letter = answer.split(")", 1)[0].strip().lower()
    return letter if len(letter) == 1 and letter in CHOICE_LETTERS else None
