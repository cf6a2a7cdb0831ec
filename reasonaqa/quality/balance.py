"""Answer-position balance: which letter each MCQ's correct option goes to. The one home of
letter dealing: finalize deals with ``dealt_letters`` and ``PLACE``; ``balanced_letters`` is
the same rule for a list of ids.

A random shuffle only makes letters balanced on average; ReasonAQA's MCQ subsets ended up
with "b" correct more often than all other letters together. Here the letters are dealt
out, not drawn: the records of one split are put in their seeded ``order_key`` order and
given a, b, c, d in turn, so every letter's count is within one of the others (25% ± 1% from
100 items on).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reasonaqa.quality.text import option_index
from reasonaqa.schemas import LETTERS

if TYPE_CHECKING:
    import numpy as np

# PLACE[letter][slot]: which stored option (answer first, see ``canonical_options``) goes to
# each slot when the answer is dealt that letter.
PLACE = ((0, 1, 2, 3), (1, 0, 2, 3), (1, 2, 0, 3), (1, 2, 3, 0))

# The six orders of three distractors; a record's hash picks one (as a seeded shuffle would,
# without building a random generator per record).
_ORDERS = tuple(itertools.permutations(range(len(LETTERS) - 1)))


def _hash_key(seed: int, text: str) -> bytes:
    return hashlib.blake2b(f"{seed}\x1f{text}".encode(), digest_size=16).digest()


def order_key(seed: int, record_id: str) -> str:
    """A seeded, order-free sort key: finalize walks a split's records in this order."""
    return hashlib.blake2b(f"{seed}\x1f{record_id}".encode(), digest_size=12).hexdigest()


def dealt_letters(start: int, count: int) -> np.ndarray:
    """Letter indexes for the next ``count`` MCQs of a split, ``start`` having been dealt."""
    import numpy as np  # finalize's need; the engine imports this module before any request

    return (start + np.arange(count)) % len(LETTERS)


def letter_counts(dealt: dict[str, int]) -> dict[str, dict[str, int]]:
    """Letters per split, which follow from the number of MCQs dealt in each split."""
    n = len(LETTERS)
    return {
        split: {letter: total // n + (i < total % n) for i, letter in enumerate(LETTERS)}
        for split, total in sorted(dealt.items())
    }


def balanced_letters(record_ids: Sequence[str], seed: int) -> dict[str, str]:
    """A letter per record of one split; depends on the set of ids and the seed, not their order.

    Letters go round-robin over the ids in ``order_key`` order, exactly as finalize deals
    them, so a, b, c and d are each correct for ⌊n/4⌋ or ⌈n/4⌉ records, and a record's letter
    does not follow from its id.
    """
    ordered = sorted(set(record_ids), key=lambda rid: order_key(seed, rid))
    indexes = dealt_letters(0, len(ordered))
    return {rid: LETTERS[i] for rid, i in zip(ordered, indexes, strict=True)}


def place_answer(options: list[str], answer: str, letter: str, key: str) -> list[str]:
    """The options with the answer at ``letter`` and the distractors in an order seeded by ``key``.

    The answer is matched after normalizing (see ``text.option_index``); the option's own
    text is kept. Raises ValueError when the answer is not exactly one of four options,
    which ``checks.check_mcq`` rejects beforehand.
    """
    if len(options) != len(LETTERS) or letter not in LETTERS:
        raise ValueError(f"need {len(LETTERS)} options and a letter in {LETTERS!r}")
    index = option_index(options, answer)
    if index is None:
        raise ValueError(f"answer {answer!r} is not exactly one of the options")
    distractors = options[:index] + options[index + 1 :]
    order = _ORDERS[int.from_bytes(_hash_key(0, key)[:8], "big") % len(_ORDERS)]
    placed = [distractors[i] for i in order]
    placed.insert(LETTERS.index(letter), options[index])
    return placed


def canonical_options(options: list[str], answer: str, key: str) -> list[str]:
    """The answer first, then the distractors in an order seeded by ``key``: how the engine
    stores an MCQ until finalize deals it a letter (moving the answer is then a gather)."""
    return place_answer(options, answer, LETTERS[0], key)


def correct_is_longest(options: list[str], answer: str) -> bool:
    """Whether the answer has strictly more characters than every other option."""
    index = option_index(options, answer)
    if index is None:
        raise ValueError(f"answer {answer!r} is not exactly one of the options")
    length = len(options[index].strip())
    return all(length > len(o.strip()) for i, o in enumerate(options) if i != index)
