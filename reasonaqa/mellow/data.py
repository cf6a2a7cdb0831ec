"""Training rows for Mellow: read from our Parquet shards or our Mellow JSON export.

A row becomes two waveforms, a prompt of exactly ``prompt_tokens`` ids (text, end-of-text,
then ``!`` padding as the reference trainer) and answer ids ending in end-of-text. MCQ
prompts carry their options inline (``question a) .. b) .. c) .. d) ..``) and the target is
``b) option text`` (SPEC.md §1).

Every random choice of a row (crop position, the clip in slot 2, option order, instruction
wording) comes from a generator seeded by (seed, epoch, row), so a resumed run sees exactly
the batches an uninterrupted one would, whatever the number of data workers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from transformers import PreTrainedTokenizerBase

from reasonaqa.errors import InputError
from reasonaqa.mellow.audio import fit_length, read_audio
from reasonaqa.mellow.config import DataConfig
from reasonaqa.mellow.language_model import end_of_text_id
from reasonaqa.schemas import LETTERS, MELLOW_KEYS
from reasonaqa.storage.shards import iter_batches, shard_paths

PAD_TOKEN = "!"
SHARD_COLUMNS = [
    "record_id",
    "split",
    "task",
    "question",
    "answer",
    "options",
    "answer_letter",
    "audio_path",
    "audio_path_2",
]
_INLINE_OPTIONS = re.compile(
    r"^(?P<q>.*?)\s*a\)\s*(?P<a>.*?)\s+b\)\s*(?P<b>.*?)\s+c\)\s*(?P<c>.*?)\s+d\)\s*(?P<d>.*?)\s*$",
    re.DOTALL,
)

# Mellow JSON trigger inputs, rewritten into instructions; wording is ours.
CAPTION_FIRST = ("Describe the first audio.", "What can be heard in audio 1?", "Caption audio 1.")
CAPTION_SECOND = ("Describe the second audio.", "What can be heard in audio 2?", "Caption audio 2.")
CAPTION_BOTH = ("Describe both audios.", "Caption audio 1 and audio 2.", "What is in each audio?")
DIFFERENCE = {
    "explain the difference in few words": (
        "In a few words, how do the two audios differ?",
        "Name the main difference between the audios briefly.",
    ),
    "explain the difference in a sentence": (
        "In one sentence, explain how the two audios differ.",
        "Describe the difference between the audios in a sentence.",
    ),
    "explain the difference in detail": (
        "Explain in detail how the two audios differ.",
        "Compare the two audios in detail.",
    ),
}


@dataclass(frozen=True)
class QaExample:
    """One training or evaluation item, independent of where it was read from."""

    record_id: str
    task: str
    audio1: str
    audio2: str  # "" for single-audio rows
    prompt: str
    answer: str
    question: str = ""
    options: tuple[str, ...] = ()
    answer_letter: str | None = None
    gold: str = ""  # MCQ: the correct option's text
    caption1: str = ""
    caption2: str = ""


def format_mcq(question: str, options: Iterable[str]) -> str:
    inline = " ".join(f"{letter}) {text}" for letter, text in zip(LETTERS, options, strict=False))
    return f"{question} {inline}"


def split_inline_options(text: str) -> tuple[str, tuple[str, ...]] | None:
    """``question a) x b) y c) z d) w`` -> (question, options); None if not in that form."""
    match = _INLINE_OPTIONS.match(text.strip())
    if not match:
        return None
    return match["q"], tuple(match[letter] for letter in LETTERS)


def read_examples(paths: Iterable[Path], split: str | None) -> list[QaExample]:
    """Rows of every shard folder/file and Mellow JSON file; shard rows filtered by split."""
    examples: list[QaExample] = []
    for path in paths:
        path = Path(path)
        if path.suffix == ".json":
            examples += read_mellow_json(path)
        elif path.suffix == ".parquet" and path.is_file():
            examples += _read_shard(path, split)
        elif path.is_dir():
            folder = path / "data" if (path / "data").is_dir() else path
            files = shard_paths(folder)
            if not files:
                raise InputError("no .parquet shards in this folder", file=folder)
            for file in files:
                examples += _read_shard(file, split)
        else:
            raise InputError("not a shard folder, .parquet file or Mellow .json file", file=path)
    return examples


def _read_shard(path: Path, split: str | None) -> list[QaExample]:
    examples = []
    row_number = 0
    for batch in iter_batches([path], columns=SHARD_COLUMNS):
        for row in batch.to_pylist():
            if split is None or row["split"] == split:
                examples.append(_from_shard_row(row, path, row_number))
            row_number += 1
    return examples


def _from_shard_row(row: dict[str, Any], path: Path, number: int) -> QaExample:
    for column in ("question", "answer", "audio_path"):
        if not row[column]:
            raise InputError("empty value", file=path, row=number, field=column)
    base = QaExample(
        record_id=row["record_id"] or f"{path.name}:{number}",
        task=row["task"],
        audio1=row["audio_path"],
        audio2=row["audio_path_2"] or "",
        prompt=row["question"],
        answer=row["answer"],
        question=row["question"],
    )
    if row["task"] != "mcq":
        return base
    options = tuple(row["options"] or ())
    if len(options) != len(LETTERS):
        raise InputError("an MCQ needs four options", file=path, row=number, field="options")
    if row["answer"] not in options:
        raise InputError(
            "the answer is not one of the options", file=path, row=number, field="answer"
        )
    return with_options(replace(base, gold=row["answer"]), options)


def with_options(example: QaExample, options: tuple[str, ...]) -> QaExample:
    """The MCQ with ``options`` in this order: inline prompt and a ``letter) text`` target."""
    letter = LETTERS[options.index(example.gold)]
    return replace(
        example,
        options=options,
        answer_letter=letter,
        prompt=format_mcq(example.question, options),
        answer=f"{letter}) {example.gold}",
    )


def read_mellow_json(path: Path) -> list[QaExample]:
    """Our Mellow JSON export (SPEC.md §1): a list of objects with exactly the eight keys."""
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"cannot read JSON: {err}", file=path) from None
    if not isinstance(rows, list):
        raise InputError("a Mellow JSON file must hold a list of objects", file=path)
    return [_from_json_row(row, path, number) for number, row in enumerate(rows)]


def _from_json_row(row: Any, path: Path, number: int) -> QaExample:
    if not isinstance(row, dict) or set(row) != set(MELLOW_KEYS):
        found = sorted(row) if isinstance(row, dict) else type(row).__name__
        raise InputError(
            f"expected exactly the keys {list(MELLOW_KEYS)}, found {found}",
            file=path,
            row=number,
        )
    for key in ("filepath1", "input"):
        if not str(row[key]).strip():
            raise InputError("empty value", file=path, row=number, field=key)
    example = QaExample(
        record_id=f"{path.name}:{number}",
        task=_json_task(row),
        audio1=row["filepath1"],
        audio2=row["filepath2"] or "",
        prompt=row["input"],
        answer=row["answer"],
        question=row["input"],
        caption1=row["caption1"] or "",
        caption2=row["caption2"] or "",
    )
    parsed = split_inline_options(row["input"]) if example.task == "mcq" else None
    if parsed is None:
        return example
    question, options = parsed
    letter = row["answer"].split(")", 1)[0].strip().lower()
    if letter not in LETTERS:
        raise InputError(
            "an MCQ answer must start with its letter", file=path, row=number, field="answer"
        )
    gold = options[LETTERS.index(letter)]
    return replace(example, question=question, options=options, answer_letter=letter, gold=gold)


def _json_task(row: dict[str, Any]) -> str:
    text = row["input"].strip().lower()
    if text.startswith("caption ") and text.endswith(("audio", "audios")):
        return "caption"
    if text in DIFFERENCE:
        return "difference"
    if re.match(r"^[a-d]\)", row["answer"].strip().lower()) and split_inline_options(row["input"]):
        return "mcq"
    if row["answer"].strip().lower() in ("yes", "no"):
        return "aqa"
    return "detail"


def realise_prompt(example: QaExample, rng: np.random.Generator) -> tuple[str, str]:
    """The (prompt, answer) text a row trains on: trigger inputs become instructions."""
    trigger = example.prompt.strip().lower()
    pick = lambda choices: str(choices[int(rng.integers(len(choices)))])  # noqa: E731
    if trigger == "caption first audio":
        return pick(CAPTION_FIRST), _caption_answer(1, example.caption1)
    if trigger == "caption second audio":
        return pick(CAPTION_SECOND), _caption_answer(2, example.caption2)
    if trigger == "caption both audios":
        both = f"{_caption_answer(1, example.caption1)} {_caption_answer(2, example.caption2)}"
        return pick(CAPTION_BOTH), both
    if trigger in DIFFERENCE:
        return pick(DIFFERENCE[trigger]), example.answer
    return example.prompt, example.answer


def _caption_answer(index: int, caption: str) -> str:
    return f"The audio {index} is {caption.strip().rstrip('.').lower()}."


@dataclass
class Item:
    index: int
    wave1: np.ndarray
    wave2: np.ndarray
    prompt_ids: list[int]
    answer_ids: list[int]


class MellowDataset(Dataset[Item]):
    def __init__(
        self,
        examples: list[QaExample],
        tokenizer: PreTrainedTokenizerBase,
        config: DataConfig,
        seed: int,
        training: bool,
    ) -> None:
        if not examples:
            raise InputError("no rows to train or evaluate on (check the paths and the split)")
        self.examples = examples
        self.tokenizer = tokenizer
        self.config = config
        self.seed = seed
        self.training = training
        self.epoch = 0
        self.eos_id = end_of_text_id(tokenizer)
        self.pad_id = int(tokenizer.convert_tokens_to_ids(PAD_TOKEN))
        self.length = round(config.sample_rate * config.clip_seconds)
        self.clips = sorted({e.audio1 for e in examples})
        self.clip_index = {clip: i for i, clip in enumerate(self.clips)}
        self._check_audio()

    def _check_audio(self) -> None:
        """Fail before training starts, not hours in, when an audio file is missing."""
        for number, example in enumerate(self.examples):
            for field, rel in (("audio_path", example.audio1), ("audio_path_2", example.audio2)):
                if rel and not (self.config.audio_root / rel).is_file():
                    raise InputError(
                        f"audio file not found (record {example.record_id}, row {number}; "
                        "check data.audio_root)",
                        file=self.config.audio_root / rel,
                        field=field,
                    )

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> Item:
        example = self.examples[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.training and self.config.permute_options and example.options:
            order = rng.permutation(len(example.options))
            example = with_options(example, tuple(example.options[i] for i in order))
        prompt, answer = realise_prompt(example, rng)
        if self.config.lowercase:
            prompt, answer = prompt.lower(), answer.lower()
        wave1 = self._wave(example.audio1, rng)
        if example.audio2:
            wave2 = self._wave(example.audio2, rng)
        else:
            wave2 = self._second_slot(example.audio1, wave1, rng)
        return Item(index, wave1, wave2, self._prompt_ids(prompt), self._answer_ids(answer))

    def _wave(self, relative: str, rng: np.random.Generator) -> np.ndarray:
        samples = read_audio(self.config.audio_root / relative, self.config.sample_rate)
        if self.training:
            return fit_length(samples, self.length, "random", "zero", rng)
        return fit_length(samples, self.length, "centre", "repeat")

    def _second_slot(self, clip: str, wave1: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Slot 2 of a single-audio row: by default another clip of the set, never itself."""
        if self.config.second_audio == "same":
            return wave1
        if self.config.second_audio == "silence" or len(self.clips) < 2:
            return np.zeros_like(wave1)
        pick = int(rng.integers(len(self.clips) - 1))
        if pick >= self.clip_index[clip]:
            pick += 1
        return self._wave(self.clips[pick], rng)

    def _prompt_ids(self, text: str) -> list[int]:
        size = self.config.prompt_tokens
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"][: size - 1]
        ids.append(self.eos_id)
        return ids + [self.pad_id] * (size - len(ids))

    def _answer_ids(self, text: str) -> list[int]:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return [*ids[: self.config.answer_tokens - 1], self.eos_id]


@dataclass
class Batch:
    indices: list[int]
    wave1: torch.Tensor
    wave2: torch.Tensor
    prompt: torch.Tensor
    answer: torch.Tensor
    answer_mask: torch.Tensor

    def to(self, device: torch.device) -> Batch:
        moved = {
            name: getattr(self, name).to(device, non_blocking=True)
            for name in ("wave1", "wave2", "prompt", "answer", "answer_mask")
        }
        return Batch(indices=self.indices, **moved)


def collate(items: list[Item], pad_id: int) -> Batch:
    longest = max(len(item.answer_ids) for item in items)
    answer = torch.full((len(items), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), longest), dtype=torch.bool)
    for row, item in enumerate(items):
        answer[row, : len(item.answer_ids)] = torch.tensor(item.answer_ids)
        mask[row, : len(item.answer_ids)] = True
    return Batch(
        indices=[item.index for item in items],
        wave1=torch.from_numpy(np.stack([item.wave1 for item in items])),
        wave2=torch.from_numpy(np.stack([item.wave2 for item in items])),
        prompt=torch.tensor([item.prompt_ids for item in items], dtype=torch.long),
        answer=answer,
        answer_mask=mask,
    )


def epoch_batches(
    size: int, batch_size: int, seed: int, epoch: int, rank: int = 0, world: int = 1
) -> list[list[int]]:
    """This rank's batches of one epoch: a seeded shuffle, split across ranks, tail dropped."""
    order = np.random.default_rng([seed, epoch, 7]).permutation(size)
    per_rank = size // world // batch_size * batch_size
    mine = order[rank::world][:per_rank].tolist()
    return [mine[i : i + batch_size] for i in range(0, per_rank, batch_size)]
