"""The pure parts of the two second-pass LLM checks; the engine sends the requests.

Grounding: the LLM reads the captions and the MCQ with its options reshuffled
(``shuffled_for_grounding``) and must pick the same answer (``is_grounded``); a detailed
answer must be judged supported by the captions (``SupportVerdict.supported``).

Audio dependence: the LLM reads only the question and options, several times. Each reply
is a vote; ``audio_contribution`` turns the votes into "weak" (answerable without
listening) or "strong".
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Literal

from pydantic import ValidationError

from reasonaqa.quality.text import normalize, option_index
from reasonaqa.schemas import LETTERS, ChoiceVerdict, SupportVerdict

AudioContribution = Literal["weak", "strong"]

PASS_REASONS: dict[str, str] = {
    "ungrounded": "the grounding pass, reading the captions, chose another option or found "
    "the detailed answer unsupported",
}

# "b", "b)", "(b)", "b.", "b: dog", "B) dog": a reply that names an option by its letter.
_LETTER_REPLY = re.compile(rf"^\(?([{LETTERS}])(?:[).:]|\s*$)", re.IGNORECASE)


def shuffled_for_grounding(options: list[str], key: str) -> list[str]:
    """The options in a seeded order where no option keeps its place.

    Moving every option means a checker that echoes a position, rather than reading the
    options, cannot agree by accident.
    """
    rng = random.Random(hashlib.blake2b(key.encode(), digest_size=16).digest())
    if len(options) < 2:
        return list(options)
    while True:
        order = list(range(len(options)))
        rng.shuffle(order)
        if all(i != j for i, j in enumerate(order)):
            return [options[j] for j in order]


def read_choice(reply: str) -> str | None:
    """The ``answer`` of a choice verdict reply; None when the reply is not a valid verdict."""
    try:
        return ChoiceVerdict.model_validate_json(reply).answer
    except ValidationError:
        return None


def read_support(reply: str) -> bool | None:
    """The ``supported`` of a support verdict reply; None when the reply is not a valid verdict."""
    try:
        return SupportVerdict.model_validate_json(reply).supported
    except ValidationError:
        return None


def chosen_option(reply: str, options: list[str]) -> str | None:
    """The option a verdict names: its text, its letter in ``options``, or the one it quotes.

    Small models often answer "b) dog" or "The answer is a dog" instead of copying the
    option; None when the reply names no option or several.
    """
    index = option_index(options, reply)
    if index is not None:
        return options[index]
    letter = _LETTER_REPLY.match(reply.strip())
    if letter:
        rest = reply.strip()[letter.end() :]
        index = option_index(options, rest) if normalize(rest) else None
        return options[index] if index is not None else options[LETTERS.index(letter[1].lower())]
    reply_n = f" {normalize(reply)} "
    quoted = [o for o in options if f" {normalize(o)} " in reply_n]
    return quoted[0] if len(quoted) == 1 else None


def is_grounded(reply: str, options: list[str], answer: str) -> bool:
    """Whether a grounding verdict picked the item's answer from the reshuffled ``options``."""
    chosen = chosen_option(reply, options)
    return chosen is not None and normalize(chosen) == normalize(answer)


def audio_contribution(votes: list[str], answer: str) -> AudioContribution:
    """ "weak" when a strict majority of no-caption votes equal the answer, else "strong".

    Votes are the chosen option texts (resolve raw replies with ``chosen_option``). Chance
    with four options is 25% a vote, so with three votes a guessing model reaches a
    majority on about 16% of items; a clear majority means the question or the options
    give the answer away, which is what users filtering on "strong" want to drop.
    """
    if not votes:
        raise ValueError("audio_contribution needs at least one vote")
    correct = sum(normalize(vote) == normalize(answer) for vote in votes)
    return "weak" if correct * 2 > len(votes) else "strong"
