"""Answer-scoring rules of SPEC.md §4, and class-wise scores for entailment.

- MCQ by letter (Mellow's own evaluation): the text before the first ``)`` is the gold letter.
- MCQ by the official MMAU/MMAR rule: every lowercase ``\\w+`` word of the correct option is
  in the prediction and none of the words that only other options have is; a bare letter
  scores zero. Scored on our answer form (``b) option``) and on the option text alone.
- AQA (ClothoAQA yes/no and one-word answers): the gold word is in the lowercased answer.
- Entailment: accuracy plus macro precision, recall and F1 over the gold classes; an answer
  with no valid letter counts against its gold class (a miss), and for no class as a
  prediction (unlike the authors' metric, which reads it as "a").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORDS = re.compile(r"\w+")
_LEADING_LETTER = re.compile(r"^\s*\(?[a-h]\)\s*", re.IGNORECASE)


def predicted_letter(prediction: str) -> str:
    return prediction.split(")", 1)[0].strip().lower()


def letter_correct(prediction: str, letter: str) -> bool:
    return predicted_letter(prediction) == letter.lower()


def option_text(prediction: str) -> str:
    """The prediction without a leading ``x)`` letter: the option-text-only form."""
    return _LEADING_LETTER.sub("", prediction, count=1)


def mmau_correct(prediction: str, options: tuple[str, ...], gold: str) -> bool:
    said = set(_WORDS.findall(prediction.lower()))
    wanted = set(_WORDS.findall(gold.lower()))
    wrong: set[str] = set()
    for option in options:
        words = set(_WORDS.findall(option.lower()))
        if words != wanted:
            wrong |= words - wanted
    return bool(said) and wanted <= said and not (said & wrong)


def substring_correct(prediction: str, gold: str) -> bool:
    return gold.strip().lower() in prediction.lower()


def classification_scores(pairs: Iterable[tuple[str, str]]) -> dict[str, float | int]:
    """(gold, predicted) labels -> rows, accuracy and macro P/R/F1 (%) over gold classes."""
    pairs = list(pairs)
    classes = sorted({gold for gold, _ in pairs})
    precision, recall, f1 = [], [], []
    for label in classes:
        hits = sum(1 for g, p in pairs if g == label and p == label)
        predicted = sum(1 for _, p in pairs if p == label)
        actual = sum(1 for g, _ in pairs if g == label)
        p = hits / predicted if predicted else 0.0
        r = hits / actual if actual else 0.0
        precision.append(p)
        recall.append(r)
        f1.append(2 * p * r / (p + r) if p + r else 0.0)

    def pct(values: list[float]) -> float:
        return round(100.0 * sum(values) / len(values), 2) if values else 0.0

    accuracy = [1.0 if g == p else 0.0 for g, p in pairs]
    return {
        "rows": len(pairs),
        "accuracy": pct(accuracy),
        "macro_precision": pct(precision),
        "macro_recall": pct(recall),
        "macro_f1": pct(f1),
    }
