"""Rows of every task become the authors' token format; instructions; the authors' JSON files.

Reference format (SPEC.md §3): prompt = text + ' <|endoftext|>' tokenised, so it ends with
216 (``Ġ``) then 0, padded with 17 (``!``); the answer ends the same way. No BOS. MCQ,
yes/no and open rows are lowercased; caption and difference rows keep their case, caption
targets read ``The audio 1 is <caption lowercased>.``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from reasonaqa.mellow.config import DataConfig
from reasonaqa.mellow.data import MellowDataset
from reasonaqa.mellow.examples import QaExample, read_examples
from reasonaqa.mellow.instructions import EVALUATION_PROMPTS, PARAPHRASES
from reasonaqa.mellow.language_model import load_tokenizer

pytest.importorskip("transformers")

SPACE, END, PAD = 216, 0, 17
PROMPT_TOKENS, ANSWER_TOKENS = 48, 40


def reference_ids(text: str, size: int | None = None) -> list[int]:
    """The authors' way: append ' <|endoftext|>', tokenise, pad with '!' to ``size``."""
    ids = load_tokenizer("tiny")(text + " <|endoftext|>", add_special_tokens=False)["input_ids"]
    return ids + [PAD] * ((size or len(ids)) - len(ids))


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    t = np.arange(8000) / 8000
    for i, name in enumerate(("a.wav", "b.wav", "c.wav")):
        tone = np.sin(2 * np.pi * (300 + 200 * i) * t).astype(np.float32)
        sf.write(tmp_path / name, tone, 8000)
    return tmp_path


def dataset(root: Path, examples: list[QaExample], training: bool) -> MellowDataset:
    config = DataConfig(
        audio_root=root, clip_seconds=1, prompt_tokens=PROMPT_TOKENS, answer_tokens=ANSWER_TOKENS
    )
    return MellowDataset(examples, load_tokenizer("tiny"), config, 5, training)


def example(**values: str) -> QaExample:
    base = {"record_id": "r", "task": "detail", "audio1": "a.wav", "audio2": "", "answer": ""}
    base.update(values)
    return QaExample(**base)  # type: ignore[arg-type]


MCQ = example(
    task="mcq",
    prompt="What Is Heard? a) Rain b) Birds c) Wind",
    answer="b) Birds",
    question="What Is Heard?",
    options=("Rain", "Birds", "Wind"),
    answer_letter="b",
    gold="Birds",
)
ROWS = {
    # task: (example, expected prompt text, expected answer text) at evaluation
    "mcq": (MCQ, "what is heard? a) rain b) birds c) wind", "b) birds"),
    "aqa": (example(task="aqa", prompt="Is It Raining?", answer="Yes"), "is it raining?", "yes"),
    "detail": (
        example(prompt="What Makes The Sound?", answer="A Dog, Barking."),
        "what makes the sound?",
        "a dog, barking.",
    ),
    "caption first": (
        example(task="caption", prompt="caption first audio", caption1="A Dog Barks."),
        "Caption the audio.",
        "The audio 1 is a dog barks.",
    ),
    "caption second": (
        example(task="caption", prompt="caption second audio", audio2="b.wav", caption2="Rain"),
        "Caption the second audio.",
        "The audio 2 is rain.",
    ),
    "caption both": (
        example(
            task="caption",
            prompt="caption both audios",
            audio2="b.wav",
            caption1="Rain",
            caption2="Wind",
        ),
        "Caption both audios.",
        "The audio 1 is rain. The audio 2 is wind.",
    ),
    "difference": (
        example(
            task="difference",
            prompt="explain the difference in a sentence",
            audio2="b.wav",
            answer="Audio 1 Is Louder.",
        ),
        "Explain the difference between the two audios in a sentence.",
        "Audio 1 Is Louder.",
    ),
    "shard caption": (
        example(task="caption", prompt="Describe the audio.", answer="Birds", caption1="Birds"),
        "Caption the audio.",
        "The audio 1 is birds.",
    ),
}


@pytest.mark.parametrize("task", list(ROWS))
def test_every_task_has_the_reference_token_format(audio: Path, task: str) -> None:
    row, prompt, answer = ROWS[task]
    item = dataset(audio, [row], training=False)[0]
    assert item.prompt_ids == reference_ids(prompt, PROMPT_TOKENS)
    assert item.answer_ids == reference_ids(answer)
    used = item.prompt_ids.index(END) + 1
    assert item.prompt_ids[used - 2 : used] == [SPACE, END]
    assert set(item.prompt_ids[used:]) == {PAD} and item.answer_ids[-2:] == [SPACE, END]


def test_reference_special_ids_of_the_bundled_tokenizer() -> None:
    """The ids the authors' format relies on, as HF SmolLM2 numbers them."""
    tokenizer = load_tokenizer("tiny")
    assert tokenizer.convert_tokens_to_ids(["Ġ", "!", "<|endoftext|>"]) == [SPACE, PAD, END]
    assert (
        tokenizer("a dog", add_special_tokens=True)["input_ids"]
        == tokenizer("a dog", add_special_tokens=False)["input_ids"]
    )  # no BOS


def test_long_texts_are_cut_before_the_end_tokens(audio: Path) -> None:
    row = example(prompt="word " * 200, answer="more " * 200)
    item = dataset(audio, [row], training=False)[0]
    assert len(item.prompt_ids) == PROMPT_TOKENS and item.prompt_ids[-2:] == [SPACE, END]
    assert len(item.answer_ids) == ANSWER_TOKENS and item.answer_ids[-2:] == [SPACE, END]


def test_training_draws_paraphrases_evaluation_is_fixed(audio: Path) -> None:
    row = ROWS["caption first"][0]
    train = dataset(audio, [row], training=True)
    tokenizer = train.tokenizer
    seen = set()
    for epoch in range(12):
        train.set_epoch(epoch)
        ids = train[0].prompt_ids
        seen.add(tokenizer.decode(ids[: ids.index(END) - 1]))
    assert len(seen) > 5 and seen <= set(PARAPHRASES["caption first audio"])
    evaluation = dataset(audio, [row], training=False)
    for epoch in range(3):
        evaluation.set_epoch(epoch)
        ids = evaluation[0].prompt_ids
        assert tokenizer.decode(ids[: ids.index(END) - 1]) == "Caption the audio."


def test_paraphrase_lists_are_ours_and_about_a_hundred_each() -> None:
    assert set(PARAPHRASES) == set(EVALUATION_PROMPTS)
    for trigger, phrasings in PARAPHRASES.items():
        assert len(phrasings) == len(set(phrasings)) == 100, trigger
        assert all(p[0].isupper() and p[-1] in ".?" for p in phrasings), trigger


def test_authors_json_files_six_keys_extra_keys_and_empty_filepath1(
    audio: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {  # the six keys without the captions: the caption row's answer is its caption
            "taskname": "audiocaps",
            "filepath1": "a.wav",
            "filepath2": "",
            "input": "caption first audio",
            "answer": "A Dog Barks",
            "subtype": "AudioCaps.json",
        },
        {
            "taskname": "clothov21",
            "filepath1": "",
            "filepath2": "",
            "caption1": "",
            "caption2": "",
            "input": "Which? a) rain b) wind c) birds d) cars e) sea",
            "answer": "e) sea",
            "subtype": "Clotho-MCQ.json",
            "split": "train",  # an extra key: ignored with a note
        },
    ]
    path = audio / "authors.json"
    path.write_text(json.dumps(rows))
    caption, mcq = read_examples([path], None)
    assert "ignoring keys Mellow does not read: split" in capsys.readouterr().err
    assert (caption.task, caption.caption1, caption.source) == (
        "caption",
        "A Dog Barks",
        "AudioCaps",
    )
    assert (mcq.task, mcq.answer_letter, mcq.gold, len(mcq.options)) == ("mcq", "e", "sea", 5)
    # Empty filepath1: a clip of the set in slot 1, seeded per row and epoch.
    data = dataset(audio, [caption, mcq], training=True)
    clip = data._wave("a.wav", np.random.default_rng(0))
    assert data[1].wave1.shape == clip.shape and np.abs(data[1].wave1).max() > 0
    assert np.array_equal(data[1].wave1, data[1].wave1)


@pytest.mark.skipif(
    not (Path(os.environ.get("SMOLLM2_HF", "models/SmolLM2-135M")) / "tokenizer.json").is_file(),
    reason="no Hugging Face SmolLM2 tokenizer folder (set SMOLLM2_HF or models/SmolLM2-135M)",
)
def test_gguf_tokenizer_matches_the_hf_smollm2_tokenizer() -> None:
    from transformers import AutoTokenizer

    folder = os.environ.get("SMOLLM2_HF", "models/SmolLM2-135M")
    hf = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    gguf = load_tokenizer("gguf")
    corpus = [
        *PARAPHRASES["caption both audios"][:20],
        *EVALUATION_PROMPTS.values(),
        'Based on the audio, what can be said about the hypothesis - "A dog barks"? '
        "a) It is definitely true b) It is definitely false c) It is plausible d) I cannot "
        "determine <|endoftext|>",
        "Café noise, 3 people talking; a bell rings twice!! (12:30) — then silence.",
        "  leading and  double  spaces\tand tabs\nand lines  ",
    ]
    for text in corpus:
        assert gguf(text)["input_ids"] == hf(text)["input_ids"], text
