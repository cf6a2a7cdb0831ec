"""Caption and difference metrics, offline: BLEU-1..4, ROUGE-L and CIDEr-D, plus METEOR and
SPICE when their Java toolchain (``pycocoevalcap`` and ``java``) is installed.

BLEU, ROUGE-L and CIDEr-D follow the definitions of the COCO caption evaluation that
audio-captioning papers report (and that the Mellow authors use):
- BLEU-n: corpus level; clipped n-gram precisions multiplied up to n, the n-th root, times a
  brevity penalty from the summed hypothesis length and the summed lengths of the reference
  closest in length to each hypothesis (ties to the shorter); 1e-15 / 1e-9 smoothing.
- ROUGE-L: per item, the longest common subsequence against each reference; the best
  precision and best recall combine as F with beta 1.2; the mean over items.
- CIDEr-D: TF-IDF vectors of 1..4-grams with document frequencies over the items'
  references; the hypothesis weight clipped at the reference's; a Gaussian length penalty
  (sigma 6, lengths counted in bigrams); mean over n and references, times 10.
Tokens: lowercase words, clitics split as the PTB tokenizer does (``dog's`` -> ``dog 's``,
``don't`` -> ``do n't``), punctuation dropped. The PTB tokenizer itself needs Java, so
figures can differ from a Java-tokenised run where text has unusual punctuation.
"""

from __future__ import annotations

import math
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Ngram = tuple[str, ...]
# Letters and digits of any script; "n't" and "'s"-style clitics as tokens of their own.
_TOKEN = re.compile(r"[^\W_]+(?=n't)|n't|'[^\W_]+|[^\W_]+")
MAX_N = 4
SIGMA = 6.0
ROUGE_BETA = 1.2
CORENLP_JAR = "stanford-corenlp-3.6.0.jar"  # what pycocoevalcap 1.2's SPICE runs on


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _ngrams(tokens: Sequence[str], n: int) -> Counter[Ngram]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bleu(hypotheses: list[list[str]], references: list[list[list[str]]]) -> list[float]:
    """Corpus BLEU-1..4 of tokenised hypotheses against their references."""
    correct, guessed = [0] * MAX_N, [0] * MAX_N
    hyp_len = ref_len = 0
    for hyp, refs in zip(hypotheses, references, strict=True):
        hyp_len += len(hyp)
        ref_len += min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]
        for n in range(1, MAX_N + 1):
            counts = _ngrams(hyp, n)
            most: Counter[Ngram] = Counter()
            for ref in refs:
                most |= _ngrams(ref, n)  # element-wise maximum over references
            correct[n - 1] += sum(min(c, most[g]) for g, c in counts.items())
            guessed[n - 1] += max(len(hyp) - n + 1, 0)
    ratio = (hyp_len + 1e-15) / (ref_len + 1e-9)
    penalty = 1.0 if ratio >= 1 else math.exp(1 - 1 / ratio)
    scores, product = [], 1.0
    for n in range(MAX_N):
        product *= (correct[n] + 1e-15) / (guessed[n] + 1e-9)
        scores.append(product ** (1 / (n + 1)) * penalty)
    return scores


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(hypotheses: list[list[str]], references: list[list[list[str]]]) -> float:
    total = 0.0
    for hyp, refs in zip(hypotheses, references, strict=True):
        lcs = [_lcs(ref, hyp) for ref in refs]
        precision = max((c / len(hyp) if hyp else 0.0) for c in lcs)
        recall = max((c / len(r) if r else 0.0) for c, r in zip(lcs, refs, strict=True))
        if precision and recall:
            beta2 = ROUGE_BETA**2
            total += (1 + beta2) * precision * recall / (recall + beta2 * precision)
    return total / len(hypotheses)


def _tfidf(
    tokens: list[str], df: Counter[Ngram], log_items: float
) -> tuple[list[dict[Ngram, float]], list[float], int]:
    """Per n: the TF-IDF vector and its norm; and the length in bigrams."""
    vectors, norms = [], []
    for n in range(1, MAX_N + 1):
        vector = {
            g: c * (log_items - math.log(max(1.0, df[g]))) for g, c in _ngrams(tokens, n).items()
        }
        vectors.append(vector)
        norms.append(math.sqrt(sum(v * v for v in vector.values())))
    return vectors, norms, max(len(tokens) - 1, 0)


def cider_d(hypotheses: list[list[str]], references: list[list[list[str]]]) -> float:
    df: Counter[Ngram] = Counter()
    for refs in references:
        df.update({g for ref in refs for n in range(1, MAX_N + 1) for g in _ngrams(ref, n)})
    log_items = math.log(float(len(references)))
    total = 0.0
    for hyp, refs in zip(hypotheses, references, strict=True):
        h_vec, h_norm, h_len = _tfidf(hyp, df, log_items)
        per_n = [0.0] * MAX_N
        for ref in refs:
            r_vec, r_norm, r_len = _tfidf(ref, df, log_items)
            penalty = math.exp(-((h_len - r_len) ** 2) / (2 * SIGMA**2))
            for n in range(MAX_N):
                dot = sum(
                    min(v, r_vec[n].get(g, 0.0)) * r_vec[n].get(g, 0.0) for g, v in h_vec[n].items()
                )
                if h_norm[n] and r_norm[n]:
                    per_n[n] += dot / (h_norm[n] * r_norm[n]) * penalty
        total += 10.0 * sum(per_n) / MAX_N / len(refs)
    return total / len(hypotheses)


def java_metrics(hypotheses: list[str], references: list[list[str]]) -> dict[str, float | str]:
    """METEOR and SPICE through pycocoevalcap's Java tools, or why they were skipped."""
    try:
        from pycocoevalcap.meteor.meteor import Meteor  # type: ignore[import-not-found]
        from pycocoevalcap.spice import spice  # type: ignore[import-not-found]
    except ImportError:
        reason = "skipped: needs pycocoevalcap and java"
        return {"meteor": reason, "spice": reason}
    if shutil.which("java") is None:
        return {"meteor": "skipped: needs java", "spice": "skipped: needs java"}
    gts = {i: [" ".join(tokenize(r)) for r in refs] for i, refs in enumerate(references)}
    res = {i: [" ".join(tokenize(h))] for i, h in enumerate(hypotheses)}
    out: dict[str, float | str] = {"meteor": _java_score(Meteor, gts, res)}
    # SPICE downloads Stanford CoreNLP on first use; never start a download from here.
    if (Path(spice.__file__).parent / "lib" / CORENLP_JAR).is_file():
        out["spice"] = _java_score(spice.Spice, gts, res)
    else:
        out["spice"] = f"skipped: needs {CORENLP_JAR} in pycocoevalcap/spice/lib"
    return out


def _java_score(scorer: Any, gts: dict[int, list[str]], res: dict[int, list[str]]) -> float | str:
    try:
        return round(100.0 * float(scorer().compute_score(gts, res)[0]), 2)
    except Exception as err:  # a Java failure is reported, not fatal to the evaluation
        return f"skipped: {type(err).__name__}: {str(err).splitlines()[0][:120]}"


def caption_scores(
    hypotheses: list[str], references: list[list[str]], java: bool = True
) -> dict[str, float | str]:
    """Every metric (x100, rounded to 2 places) of raw-text hypotheses and references."""
    hyps = [tokenize(h) for h in hypotheses]
    refs = [[tokenize(r) for r in rs] for rs in references]
    bleus = bleu(hyps, refs)
    scores: dict[str, float | str] = {
        f"bleu_{n}": round(100 * b, 2) for n, b in enumerate(bleus, 1)
    }
    scores["rouge_l"] = round(100 * rouge_l(hyps, refs), 2)
    scores["cider_d"] = round(100 * cider_d(hyps, refs), 2)
    if java:
        scores.update(java_metrics(hypotheses, references))
    return scores
