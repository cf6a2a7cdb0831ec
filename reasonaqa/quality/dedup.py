"""Exact and near-duplicate questions about the same clip, over a whole run.

One ``DuplicateFilter`` sees every accepted question of a run (all captions, samples and
resumed batches), so the fifth "What animal is barking?" about a clip is caught even when it
came from another caption. Questions are compared only with questions under the same
``clip_key``: the same words about different audio are different items with different
answers ("What is the loudest sound?" is fine on every clip).

- Exact: equal after ``text.normalize`` (case, punctuation, whitespace).
- Near: Jaccard similarity of the questions' shingles (normalized words and word pairs) at or
  above ``threshold``, estimated with MinHash. The default 0.7 separates rewordings ("What is
  the primary sound in the audio?" / "... sound heard in the audio?", J = 0.76) from
  questions that differ in one content word ("Is the dog barking loudly?" / "... softly?",
  J = 0.64). Questions that only swap two phrases ("Does A happen before B?" / "Does B
  happen before A?") share most word pairs and count as duplicates: one answers the other.

A clip has a few dozen questions at most, so a new one is compared with all of its clip's
signatures at once in numpy; banding (LSH) would only pay off for comparisons across clips,
which we deliberately do not make. Memory per remembered question: 8 bytes of exact hash
plus ``num_perm`` bytes of signature, the low 8 bits of each MinHash value ("b-bit
MinHash"): two different minima agree by chance with probability 1/256, which raises the
estimated similarity by at most 0.004, far below the estimate's own noise.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import zlib

import numpy as np

from reasonaqa.quality.text import normalize

DUPLICATE_REASONS: dict[str, str] = {
    "duplicate_exact": "the same question about the same clip, after normalizing",
    "duplicate_near": "a near-identical question about the same clip (shingle Jaccard >= 0.7)",
}

DEFAULT_THRESHOLD = 0.7
DEFAULT_NUM_PERM = 64

# (a * x + b) mod p over 32-bit shingle hashes; a, b < 2**31 keep a * x + b below 2**64.
_PRIME = np.uint64(4_294_967_311)  # the smallest prime above 2**32
_PERM_SEED = 20_250_311


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def shingles(normalized: str) -> set[str]:
    """Words and adjacent word pairs of an already normalized text."""
    tokens = normalized.split()
    return set(tokens) | {f"{a} {b}" for a, b in itertools.pairwise(tokens)}


class MinHasher:
    """MinHash signatures with ``num_perm`` seeded universal hash functions."""

    def __init__(self, num_perm: int = DEFAULT_NUM_PERM) -> None:
        rng = np.random.default_rng(_PERM_SEED)
        self.num_perm = num_perm
        self._a = rng.integers(1, 2**31, size=num_perm, dtype=np.uint64)
        self._b = rng.integers(0, 2**31, size=num_perm, dtype=np.uint64)

    def signature(self, items: set[str]) -> np.ndarray:
        """uint64 minima, one per hash function; an empty set hashes as the empty string."""
        # CRC-32 is stable across processes (unlike hash()) and fast; the universal hash
        # functions below do the mixing.
        hashes = np.array([zlib.crc32(s.encode()) for s in items or {""}], dtype=np.uint64)
        values = (hashes[:, None] * self._a[None, :] + self._b[None, :]) % _PRIME
        return values.min(axis=0)


class DuplicateFilter:
    """Remembers accepted questions per clip and flags exact and near duplicates."""

    def __init__(
        self, threshold: float = DEFAULT_THRESHOLD, num_perm: int = DEFAULT_NUM_PERM
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.threshold = threshold
        self._hasher = MinHasher(num_perm)
        self._min_equal = math.ceil(threshold * num_perm - 1e-9)
        # clip_key -> one record per remembered question: 8 bytes of exact hash, then the
        # signature's low bytes. One bytearray per clip keeps the per-clip overhead small.
        self._clips: dict[str, bytearray] = {}
        self.remembered = 0

    def forget(self) -> None:
        """Drop every remembered question (for a caller that walks clips one by one)."""
        self._clips.clear()

    def check(self, clip_key: str, question: str) -> str | None:
        """ "duplicate_exact", "duplicate_near" or None; a None question is remembered."""
        normalized = normalize(question)
        record = np.concatenate(
            [
                np.frombuffer(_hash64(normalized).to_bytes(8, "little"), dtype=np.uint8),
                self._hasher.signature(shingles(normalized)).astype(np.uint8),
            ]
        )
        seen = self._clips.setdefault(clip_key, bytearray())
        verdict = self._compare(seen, record)
        if verdict is None:
            seen.extend(record.tobytes())
            self.remembered += 1
        return verdict

    def _compare(self, seen: bytearray, record: np.ndarray) -> str | None:
        # The numpy view lives only in here: a bytearray cannot grow while a view exists.
        earlier = np.frombuffer(seen, dtype=np.uint8).reshape(-1, record.size)
        if (earlier[:, :8] == record[:8]).all(axis=1).any():
            return "duplicate_exact"
        if ((earlier[:, 8:] == record[8:]).sum(axis=1) >= self._min_equal).any():
            return "duplicate_near"
        return None


def jaccard(a: str, b: str) -> float:
    """Exact shingle Jaccard similarity of two questions: what the filter estimates."""
    sa, sb = shingles(normalize(a)), shingles(normalize(b))
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0
