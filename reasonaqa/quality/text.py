"""Text normalization shared by the checks, the balancer and duplicate detection.

Two strings are "the same" when they are equal after lowercasing, dropping punctuation and
collapsing whitespace: "A dog." and "a dog" name one option.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_NON_WORD = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")
# For ASCII text (nearly every LLM answer) the same as the regexes: punctuation and "_" to
# spaces by one table lookup per character.
_ASCII_TO_SPACE = str.maketrans(
    {c: " " for c in map(chr, range(128)) if not (c.isalnum() or c.isspace())}
)


# The checks look at the same few strings many times per item; caching beats threading them.
@functools.lru_cache(maxsize=1 << 14)
def normalize(text: str) -> str:
    """Lowercase, NFKC, punctuation (and ``_``) to spaces, whitespace collapsed."""
    if text.isascii():
        return " ".join(text.lower().translate(_ASCII_TO_SPACE).split())
    text = unicodedata.normalize("NFKC", text).lower().replace("_", " ")
    return _SPACE.sub(" ", _NON_WORD.sub(" ", text)).strip()


def words(text: str) -> list[str]:
    return normalize(text).split()


def option_index(options: list[str], answer: str) -> int | None:
    """Index of the one option equal to ``answer`` after normalizing; None if not exactly one."""
    target = normalize(answer)
    hits = [i for i, option in enumerate(options) if normalize(option) == target]
    return hits[0] if len(hits) == 1 else None
