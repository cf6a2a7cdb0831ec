"""Score a Mellow checkpoint: greedy answers (up to 300 tokens), then the rules of SPEC.md §4.

Rows come from shards, Mellow JSON or an MMAU/MMAR benchmark file. Per task:
- MCQ: letter accuracy, the official MMAU word-match rule on our answer form (``b) text``)
  and on the option text alone (``mmau_text``), any number of choices from 2 to 8;
- AQA: the gold word in the answer;
- caption and difference rows: BLEU-1..4, ROUGE-L and CIDEr-D (METEOR and SPICE when their
  Java toolchain is installed, else reported as skipped), against every caption of the clip
  the file holds (the row's own target otherwise);
- entailment rows (CLE/ACE MCQ): accuracy and macro precision/recall/F1 over the classes.
MCQ rows are also broken down by source (benchmark task) and category.

Writes ``predictions.jsonl``, ``scores.json``, ``scores_by_group.json`` and ``scores.md``.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from reasonaqa.mellow.caption_metrics import caption_scores
from reasonaqa.mellow.checkpoints import load_mellow
from reasonaqa.mellow.config import MellowConfig
from reasonaqa.mellow.data import MellowDataset, collate, realise_prompt
from reasonaqa.mellow.examples import QaExample, read_examples
from reasonaqa.mellow.language_model import load_tokenizer
from reasonaqa.mellow.model import build_mellow
from reasonaqa.mellow.scoring import (
    classification_scores,
    letter_correct,
    mmau_correct,
    option_text,
    predicted_letter,
    substring_correct,
)
from reasonaqa.storage.atomic import write_text_atomic

Table = dict[str, dict[str, float | int | str]]
RULES = ("letter_correct", "mmau_correct", "mmau_text_correct", "aqa_correct")
TEXT_TASKS = ("caption", "difference")
_CAPTION_FRAME = re.compile(r"^the audio \d is\s+", re.IGNORECASE)


@dataclass
class Prediction:
    record_id: str
    task: str
    prompt: str
    gold: str
    prediction: str
    source: str = ""
    category: str = ""
    letter_correct: bool | None = None
    mmau_correct: bool | None = None
    mmau_text_correct: bool | None = None
    aqa_correct: bool | None = None


def score(example: QaExample, text: str) -> Prediction:
    target = realise_prompt(example, None)
    result = Prediction(
        example.record_id,
        example.task,
        target.prompt,
        target.answer,
        text,
        example.source,
        example.category,
    )
    if example.task == "mcq" and example.answer_letter:
        result.letter_correct = letter_correct(text, example.answer_letter)
        result.mmau_correct = mmau_correct(text, example.options, example.gold)
        result.mmau_text_correct = mmau_correct(option_text(text), example.options, example.gold)
    elif example.task == "aqa":
        result.aqa_correct = substring_correct(text, example.answer)
    return result


def _accuracies(rows: list[Prediction]) -> dict[str, float | int | str]:
    entry: dict[str, float | int | str] = {"rows": len(rows)}
    for rule in RULES:
        marks = [getattr(p, rule) for p in rows if getattr(p, rule) is not None]
        if marks:
            entry[rule.removesuffix("_correct")] = round(100.0 * sum(marks) / len(marks), 2)
    return entry


def score_table(scored: list[tuple[QaExample, Prediction]]) -> Table:
    """Per task: row count and every rule that applies; text metrics; entailment classes."""
    by_task: dict[str, list[tuple[QaExample, Prediction]]] = defaultdict(list)
    for example, prediction in scored:
        by_task[prediction.task].append((example, prediction))
    table: Table = {
        task: _accuracies([p for _, p in rows]) for task, rows in sorted(by_task.items())
    }
    captions = _clip_captions([e for e, _ in scored])
    for task in TEXT_TASKS:
        if task in by_task:
            table[task].update(caption_scores(*_text_pairs(by_task[task], captions)))
    pairs = [
        (e.answer_letter or "", predicted_letter(p.prediction)) for e, p in scored if e.entailment
    ]
    if pairs:
        table["entailment"] = dict(classification_scores(pairs))
    return table


def _text_pairs(
    rows: list[tuple[QaExample, Prediction]], captions: dict[str, list[str]]
) -> tuple[list[str], list[list[str]]]:
    """Hypotheses and references: caption rows against every caption of their clip, with
    the ``The audio 1 is`` frame removed; difference rows against their own target."""
    hypotheses, references = [], []
    for example, prediction in rows:
        if example.task == "caption":
            hypotheses.append(_caption_text(prediction.prediction))
            references.append(captions.get(example.audio1) or [_caption_text(prediction.gold)])
        else:
            hypotheses.append(prediction.prediction)
            references.append([prediction.gold])
    return hypotheses, references


def _clip_captions(examples: list[QaExample]) -> dict[str, list[str]]:
    """Every human caption the evaluation rows hold for a clip: the references of its rows."""
    captions: dict[str, list[str]] = defaultdict(list)
    for example in examples:
        if example.task == "caption" and example.caption1 and not example.audio2:
            captions[example.audio1].append(example.caption1)
    return captions


def _caption_text(text: str) -> str:
    """``The audio 1 is a dog barking.`` -> ``a dog barking.``: the caption itself."""
    return _CAPTION_FRAME.sub("", text.strip(), count=1)


def group_table(predictions: list[Prediction]) -> Table:
    """MCQ accuracies per source (benchmark task) and per source/category."""
    groups: dict[str, list[Prediction]] = defaultdict(list)
    for p in predictions:
        if p.task == "mcq" and p.source:
            groups[p.source].append(p)
            if p.category:
                groups[f"{p.source}/{p.category}"].append(p)
    return {name: _accuracies(rows) for name, rows in sorted(groups.items())}


COLUMNS = (
    ("rows", "rows"),
    ("letter", "MCQ letter %"),
    ("mmau", "MMAU rule %"),
    ("mmau_text", "MMAU rule, option text %"),
    ("aqa", "AQA substring %"),
    ("bleu_4", "BLEU-4"),
    ("rouge_l", "ROUGE-L"),
    ("cider_d", "CIDEr-D"),
    ("meteor", "METEOR"),
    ("spice", "SPICE"),
    ("macro_f1", "macro F1"),
)


def markdown_table(table: Table, title: str = "task") -> str:
    lines = [
        f"| {title} | " + " | ".join(label for _, label in COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    for task, entry in table.items():
        cells = [str(entry.get(key, "")) for key, _ in COLUMNS]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def with_checkpoint_model(config: MellowConfig, checkpoint: Path) -> MellowConfig:
    """Build the model the checkpoint was trained as (its size and language model)."""
    try:
        stored = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # not one of ours (released Mellow, safetensors): keep the config
        return config
    model = stored.get("config", {}).get("model") if isinstance(stored, dict) else None
    if not model:
        return config
    update = {"size": model["size"], "language_model": model["language_model"]}
    return config.model_copy(update={"model": config.model.model_copy(update=update)})


def _note_cut_prompts(dataset: MellowDataset) -> None:
    """Say how many prompts exceed ``data.prompt_tokens`` (cut, as the reference cuts them):
    a long MCQ may lose its last options."""
    budget = dataset.config.prompt_tokens - 2
    texts = [realise_prompt(e, None).prompt for e in dataset.examples]
    lengths = [len(ids) for ids in dataset.tokenizer(texts, add_special_tokens=False)["input_ids"]]
    cut = sum(n > budget for n in lengths)
    if cut:
        print(
            f"note: {cut} of {len(texts)} prompts are longer than {budget} tokens and were cut "
            "(data.prompt_tokens)",
            file=sys.stderr,
        )


def evaluate(config: MellowConfig, checkpoint: Path | None, output: Path) -> Table:
    """Answer every evaluation row greedily and write predictions and scores to ``output``."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if checkpoint is not None:
        config = with_checkpoint_model(config, checkpoint)
    tokenizer = load_tokenizer(config.model.language_model)
    torch.manual_seed(config.seed)
    model = build_mellow(config.model, tokenizer)
    if checkpoint is not None:
        report = load_mellow(model, checkpoint, config.model.trust_checkpoints)
        print(report.describe())
    model.to(device).eval()
    examples = read_examples(config.data.eval, config.data.eval_split)[: config.evaluate.limit]
    dataset = MellowDataset(examples, tokenizer, config.data, config.seed, training=False)
    _note_cut_prompts(dataset)
    loader = DataLoader(
        dataset,
        batch_size=config.evaluate.batch_size,
        collate_fn=partial(collate, pad_id=dataset.pad_id),
        num_workers=config.data.num_workers,
    )
    precision = config.train.precision
    bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    scored: list[tuple[QaExample, Prediction]] = []
    for batch in tqdm(loader, disable=not config.train.progress, unit="batch"):
        batch = batch.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            ids = model.generate(
                batch.wave1, batch.wave2, batch.prompt, config.evaluate.max_new_tokens
            )
        for index, row in zip(batch.indices, ids, strict=True):
            text = tokenizer.decode(row, skip_special_tokens=True).strip()
            scored.append((examples[index], score(examples[index], text)))
    predictions = [p for _, p in scored]
    table = score_table(scored)
    groups = group_table(predictions)
    output.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in predictions)
    write_text_atomic(output / "predictions.jsonl", lines)
    write_text_atomic(output / "scores.json", json.dumps(table, indent=2) + "\n")
    write_text_atomic(output / "scores_by_group.json", json.dumps(groups, indent=2) + "\n")
    markdown = markdown_table(table) + (f"\n{markdown_table(groups, 'group')}" if groups else "")
    write_text_atomic(output / "scores.md", markdown)
    return table
