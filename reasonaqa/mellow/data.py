"""Mellow's items and batches: a ``QaExample`` becomes two waveforms and token ids.

Token format of the authors' trainer (SPEC.md §3): the prompt is the text, then ``Ġ`` (216)
and end-of-text (0), padded with ``!`` (17) to exactly ``prompt_tokens``; the answer is the
text, then 216 and 0; the loss skips every 17. No BOS, no chat template. Caption and
difference triggers become one of about 100 instructions each (``instructions.py``; a
fixed one at evaluation); caption targets read ``The audio 1 is <caption lowercased>.``.
Casing as theirs: MCQ, yes/no and open rows are lowercased, caption and difference rows keep
their case.

Every random choice of a row (crop position, the clip in slot 2, option order, instruction
wording) comes from a generator seeded by (seed, epoch, row), so a resumed run sees exactly
the batches an uninterrupted one would, whatever the number of data workers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset
from transformers import PreTrainedTokenizerBase

from reasonaqa.errors import InputError
from reasonaqa.mellow.audio import fit_length, read_audio
from reasonaqa.mellow.config import DataConfig
from reasonaqa.mellow.examples import QaExample, with_options
from reasonaqa.mellow.instructions import (
    CAPTION_BOTH_TRIGGER,
    CAPTION_FIRST_TRIGGER,
    CAPTION_SECOND_TRIGGER,
    DIFFERENCE_TRIGGERS,
    EVALUATION_PROMPTS,
    PARAPHRASES,
)
from reasonaqa.mellow.language_model import end_of_text_id, space_id

PAD_TOKEN = "!"


@dataclass(frozen=True)
class Realised:
    """The text a row trains on; ``generic`` rows are the ones the reference lowercases."""

    prompt: str
    answer: str
    generic: bool


def realise_prompt(example: QaExample, rng: np.random.Generator | None) -> Realised:
    """Trigger inputs become instructions: drawn with ``rng``, or the fixed one when None."""
    trigger = example.prompt.strip().lower()
    if example.task == "caption" and trigger not in PARAPHRASES:  # a shard caption row
        trigger = CAPTION_FIRST_TRIGGER
    if trigger not in PARAPHRASES:
        return Realised(example.prompt.strip(), example.answer.strip(), generic=True)
    if rng is None:
        instruction = EVALUATION_PROMPTS[trigger]
    else:
        choices = PARAPHRASES[trigger]
        instruction = choices[int(rng.integers(len(choices)))]
    if trigger in DIFFERENCE_TRIGGERS:
        return Realised(instruction, example.answer.strip(), generic=False)
    first, second = _caption_answer(1, example.caption1), _caption_answer(2, example.caption2)
    answer = {
        CAPTION_FIRST_TRIGGER: first,
        CAPTION_SECOND_TRIGGER: second,
        CAPTION_BOTH_TRIGGER: f"{first} {second}",
    }[trigger]
    return Realised(instruction, answer, generic=False)


def _caption_answer(index: int, caption: str) -> str:
    return f"The audio {index} is {caption.strip().rstrip('.').lower()}."


def apply_case(text: Realised, mode: str) -> tuple[str, str]:
    lower = mode == "all" or (mode == "generic" and text.generic)
    return (text.prompt.lower(), text.answer.lower()) if lower else (text.prompt, text.answer)


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
        self.space_id = space_id(tokenizer)
        self.pad_id = int(tokenizer.convert_tokens_to_ids(PAD_TOKEN))
        self.length = round(config.sample_rate * config.clip_seconds)
        self.clips = sorted({e.audio1 for e in examples if e.audio1})
        if not self.clips:
            raise InputError("no row names an audio file in filepath1 / audio_path")
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
        realised = realise_prompt(example, rng if self.training else None)
        prompt, answer = apply_case(realised, self.config.lowercase)
        # An empty filepath1 (the authors' files allow it): a random clip, as their trainer.
        wave1 = self._wave(example.audio1 or self._random_clip("", rng), rng)
        if example.audio2:
            wave2 = self._wave(example.audio2, rng)
        else:
            wave2 = self._second_slot(example.audio1, wave1, rng)
        return Item(index, wave1, wave2, self._prompt_ids(prompt), self._answer_ids(answer))

    def _wave(self, relative: str, rng: np.random.Generator) -> np.ndarray:
        samples = read_audio(self.config.audio_root / relative, self.config.sample_rate)
        if self.training or self.config.eval_crop == "random":
            return fit_length(samples, self.length, "random", "zero", rng)
        return fit_length(samples, self.length, "centre", "repeat")

    def _random_clip(self, avoid: str, rng: np.random.Generator) -> str:
        """A clip of the set drawn with ``rng``, other than ``avoid`` when there is one."""
        if avoid not in self.clip_index:
            return self.clips[int(rng.integers(len(self.clips)))]
        pick = int(rng.integers(len(self.clips) - 1))
        return self.clips[pick + (pick >= self.clip_index[avoid])]

    def _second_slot(self, clip: str, wave1: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Slot 2 of a single-audio row: by default another clip of the set, never itself."""
        if self.config.second_audio == "same":
            return wave1
        if self.config.second_audio == "silence" or len(self.clips) < 2:
            return np.zeros_like(wave1)
        return self._wave(self._random_clip(clip, rng), rng)

    def _text_ids(self, text: str, budget: int) -> list[int]:
        """``text`` then 216 and end-of-text, within ``budget`` ids."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"][: budget - 2]
        return [*ids, self.space_id, self.eos_id]

    def _prompt_ids(self, text: str) -> list[int]:
        ids = self._text_ids(text, self.config.prompt_tokens)
        return ids + [self.pad_id] * (self.config.prompt_tokens - len(ids))

    def _answer_ids(self, text: str) -> list[int]:
        return self._text_ids(text, self.config.answer_tokens)


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
    for row, item in enumerate(items):
        answer[row, : len(item.answer_ids)] = torch.tensor(item.answer_ids)
    # As the reference: the loss skips every pad id, padding or a "!" of the text alike.
    mask = answer != pad_id
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
