"""Exact and near-duplicate questions about the same clip.

A clip's accepted questions (all captions, samples, tasks and resumed batches) are compared
with each other, so the fifth "What animal is barking?" about a clip is caught even when it
came from another caption. Questions about different clips are never compared: the same
words about different audio are different items with different answers ("What is the
loudest sound?" is fine on every clip).

- Exact: equal after ``text.normalize`` (case, punctuation, whitespace).
- Near: Jaccard similarity of the questions' shingles (normalized words and word pairs) at or
  above ``threshold``. The default 0.7 separates rewordings ("What is the primary sound in
  the audio?" / "... sound heard in the audio?", J = 0.76) from questions that differ in one
  content word ("Is the dog barking loudly?" / "... softly?", J = 0.64). Questions that only
  swap two phrases ("Does A happen before B?" / "Does B happen before A?") share most word
  pairs and count as duplicates: one answers the other.

The similarity is computed exactly, not estimated (MinHash): a clip has a few dozen
questions, and comparing each with the kept ones before it costs less than hashing it. Only
one clip's questions are in memory at a time.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from reasonaqa.quality.text import normalize

DUPLICATE_REASONS: dict[str, str] = {
    "duplicate_exact": "the same question about the same clip, after normalizing",
    "duplicate_near": "a near-identical question about the same clip (shingle Jaccard >= 0.7)",
}

DEFAULT_THRESHOLD = 0.7


def shingles(normalized: str) -> set[str]:
    """Words and adjacent word pairs of an already normalized text."""
    tokens = normalized.split()
    return set(tokens) | {f"{a} {b}" for a, b in itertools.pairwise(tokens)}


def clip_duplicates(
    questions: Sequence[str], threshold: float = DEFAULT_THRESHOLD
) -> list[str | None]:
    """One clip's questions in order: for each, "duplicate_exact", "duplicate_near" or None.

    A question is a duplicate of an earlier kept one (None); the order decides which of two
    duplicates is kept, so callers pass a seeded order.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    if len(questions) < 2:
        return [None] * len(questions)
    verdicts: list[str | None] = []
    kept_texts: set[str] = set()
    kept_shingles: list[set[str]] = []
    for question in questions:
        normalized = normalize(question)
        if normalized in kept_texts:
            verdicts.append("duplicate_exact")
            continue
        words = shingles(normalized)
        if any(_similar(words, other, threshold) for other in kept_shingles):
            verdicts.append("duplicate_near")
            continue
        verdicts.append(None)
        kept_texts.add(normalized)
        kept_shingles.append(words)
    return verdicts


def _similar(a: set[str], b: set[str], threshold: float) -> bool:
    small, large = sorted((len(a), len(b)))
    if small / large < threshold:
        return False  # Jaccard <= |smaller| / |larger|: no need to intersect
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared) >= threshold
