"""Scoring: MMAU/MMAR files with 2 to 8 choices under the official rule, caption metrics
against hand-computed and pycocoevalcap numbers, entailment macro P/R/F1."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from reasonaqa.errors import InputError
from reasonaqa.mellow.caption_metrics import bleu, caption_scores, cider_d, rouge_l, tokenize
from reasonaqa.mellow.evaluate import group_table, score, score_table
from reasonaqa.mellow.examples import QaExample, read_examples
from reasonaqa.mellow.scoring import classification_scores
from reasonaqa.testing.mmau_sample import MMAU_ITEMS, official_rule, write_mmau


def test_mmau_file_with_2_4_5_and_8_choices_is_read_as_inline_mcqs(tmp_path: Path) -> None:
    examples = read_examples([write_mmau(tmp_path / "mmau.json")], "ignored")
    assert [len(e.options) for e in examples] == [2, 4, 5, 8, 4]
    three = examples[2]
    assert three.prompt == ("Which key? a) C major b) D minor c) E major d) a minor e) G major")
    assert (three.answer, three.answer_letter, three.audio1) == ("d) a minor", "d", "clip.wav")
    assert (three.source, three.category) == ("music", "Key")
    assert examples[3].prompt.endswith("g) 7 h) 8") and examples[3].answer == "c) 3"


def test_mmau_official_rule_on_both_answer_forms(tmp_path: Path) -> None:
    examples = read_examples([write_mmau(tmp_path / "mmau.json")], None)
    scored = [(e, score(e, said)) for e, (_, said, _) in zip(examples, MMAU_ITEMS, strict=True)]
    for (_, result), (item, said, expected) in zip(scored, MMAU_ITEMS, strict=True):
        marks = (result.letter_correct, result.mmau_correct, result.mmau_text_correct)
        assert marks == expected, said
        assert result.mmau_correct == official_rule(said, item["choices"], item["answer"])
    table = score_table(scored)
    assert table["mcq"] == {"rows": 5, "letter": 80.0, "mmau": 20.0, "mmau_text": 40.0}
    groups = group_table([p for _, p in scored])
    assert groups["sound"] == {"rows": 2, "letter": 50.0, "mmau": 50.0, "mmau_text": 50.0}
    assert groups["music/Key"]["mmau_text"] == 100.0 and groups["music/Key"]["mmau"] == 0.0


def test_bad_mmau_items_name_file_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    item = {"id": "x", "audio_id": "a.wav", "question": "q", "task": "sound"}
    path.write_text(json.dumps([{**item, "choices": ["a", "b"], "answer": "c"}]))
    with pytest.raises(InputError, match=r"bad.json, row 0, column 'answer'"):
        read_examples([path], None)
    path.write_text(json.dumps([{**item, "choices": ["only"], "answer": "only"}]))
    with pytest.raises(InputError, match=r"row 0, column 'options': an MCQ needs 2 to 8"):
        read_examples([path], None)


def test_caption_metrics_match_hand_computed_values() -> None:
    hyp, refs = [tokenize("A dog barks.")], [[tokenize("a dog barks loudly")]]
    penalty = math.exp(1 - 4 / 3)  # 3 words against 4: brevity penalty
    b1, b2, b3, b4 = bleu(hyp, refs)
    assert (b1, b2, b3) == pytest.approx((penalty, penalty, penalty))
    assert b4 == pytest.approx(penalty * (1e-15 / 1e-9) ** 0.25)  # no 4-gram to guess
    # LCS 3: precision 1, recall 3/4, F with beta 1.2.
    assert rouge_l(hyp, refs) == pytest.approx(2.44 * 0.75 / (0.75 + 1.44))
    # Two items, every n-gram in one item's references only: idf = ln 2 throughout.
    # Item 1 matches exactly in 1- and 2-grams: 10 x (1 + 1 + 0 + 0) / 4 = 5.
    # Item 2 "cat" vs "cat meows": cosine 1/sqrt(2) in 1-grams, length penalty e^(-1/72).
    hyps = [tokenize("dog barks"), tokenize("cat")]
    references = [[tokenize("dog barks")], [tokenize("cat meows")]]
    second = 10 * (1 / math.sqrt(2)) * math.exp(-1 / 72) / 4
    assert cider_d(hyps, references) == pytest.approx((5 + second) / 2)
    assert tokenize("The dog's bowl isn't full, café!") == [
        "the",
        "dog",
        "'s",
        "bowl",
        "is",
        "n't",
        "full",
        "café",
    ]


def test_caption_metrics_match_pycocoevalcap_reference_numbers() -> None:
    """The same tokens scored by pycocoevalcap 1.2 (Bleu(4), Rouge(), Cider()) gave these."""
    rng = random.Random(0)
    words = [
        "a",
        "dog",
        "barks",
        "loudly",
        "while",
        "birds",
        "chirp",
        "in",
        "the",
        "background",
        "and",
        "rain",
        "falls",
        "on",
        "roof",
        "car",
        "passes",
        "by",
    ]
    hyps, refs = [], []
    for _ in range(30):
        hyps.append(" ".join(rng.choices(words, k=rng.randint(3, 14))))
        refs.append(
            [" ".join(rng.choices(words, k=rng.randint(3, 14))) for _ in range(rng.randint(1, 5))]
        )
    hyps[0], refs[0] = "a dog barks", ["a dog barks loudly", "the dog is barking"]
    tokens = [tokenize(h) for h in hyps]
    ref_tokens = [[tokenize(r) for r in rs] for rs in refs]
    assert bleu(tokens, ref_tokens) == pytest.approx(
        [0.5839694656466261, 0.18089341324159863, 0.05451274427927379, 5.5397660273380445e-06]
    )
    assert rouge_l(tokens, ref_tokens) == pytest.approx(0.3153969948284354)
    assert cider_d(tokens, ref_tokens) == pytest.approx(0.5737518959472955)


def test_caption_rows_are_scored_against_every_caption_of_their_clip() -> None:
    rows = [
        QaExample("c1", "caption", "dog.wav", "", "caption first audio", "", caption1=c)
        for c in ("a dog barks", "a dog is barking")
    ]
    scored = [(e, score(e, "The audio 1 is a dog barks.")) for e in rows]
    entry = score_table(scored)["caption"]
    assert entry["rows"] == 2 and entry["bleu_1"] == 100.0 and entry["rouge_l"] == 100.0
    assert {"bleu_4", "cider_d", "meteor", "spice"} <= set(entry)
    assert caption_scores(["a dog"], [["a dog"]], java=False).keys() == {
        "bleu_1",
        "bleu_2",
        "bleu_3",
        "bleu_4",
        "rouge_l",
        "cider_d",
    }


def test_entailment_accuracy_and_macro_precision_recall_f1() -> None:
    scores = classification_scores([("a", "a"), ("a", "b"), ("b", "b"), ("c", "x")])
    assert scores == {
        "rows": 4,
        "accuracy": 50.0,
        "macro_precision": 50.0,
        "macro_recall": 50.0,
        "macro_f1": round(100 * (2 / 3 + 2 / 3 + 0) / 3, 2),
    }
    question = (
        'Based on the audio, what can be said about the hypothesis - "A dog barks"? a) It is '
        "definitely true b) It is definitely false c) It is plausible d) I cannot determine"
    )
    options = (
        "It is definitely true",
        "It is definitely false",
        "It is plausible",
        "I cannot determine",
    )
    row = QaExample(
        "e1",
        "mcq",
        "a.wav",
        "",
        question,
        "a) It is definitely true",
        question=question.split(" a) ")[0],
        options=options,
        answer_letter="a",
        gold=options[0],
    )
    table = score_table([(row, score(row, "a) it is definitely true"))])
    assert table["entailment"]["accuracy"] == 100.0 and table["mcq"]["letter"] == 100.0
