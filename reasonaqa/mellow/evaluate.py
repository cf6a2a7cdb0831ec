"""Score a Mellow checkpoint: greedy answers, then the SPEC.md §4 rules.

- MCQ by letter (Mellow's own evaluation): the text before the first ``)`` is the gold letter.
- MCQ by the MMAU rule: every word of the correct option is in the answer and no word that
  only other options have is (lowercase ``\\w+`` tokens); a bare letter scores zero.
- AQA (ClothoAQA yes/no and one-word answers): the gold word is in the lowercased answer.

Writes ``predictions.jsonl``, ``scores.json`` and ``scores.md`` into the output folder.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from reasonaqa.mellow.checkpoints import load_mellow
from reasonaqa.mellow.config import MellowConfig
from reasonaqa.mellow.data import MellowDataset, QaExample, collate, read_examples
from reasonaqa.mellow.language_model import load_tokenizer
from reasonaqa.mellow.model import build_mellow
from reasonaqa.storage.atomic import write_text_atomic

_WORDS = re.compile(r"\w+")


def letter_correct(prediction: str, letter: str) -> bool:
    return prediction.split(")", 1)[0].strip().lower() == letter.lower()


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


@dataclass
class Prediction:
    record_id: str
    task: str
    prompt: str
    gold: str
    prediction: str
    letter_correct: bool | None = None
    mmau_correct: bool | None = None
    aqa_correct: bool | None = None


def score(example: QaExample, text: str) -> Prediction:
    result = Prediction(example.record_id, example.task, example.prompt, example.answer, text)
    if example.task == "mcq" and example.answer_letter:
        result.letter_correct = letter_correct(text, example.answer_letter)
        result.mmau_correct = mmau_correct(text, example.options, example.gold)
    elif example.task == "aqa":
        result.aqa_correct = substring_correct(text, example.answer)
    return result


def score_table(predictions: list[Prediction]) -> dict[str, dict[str, float | int]]:
    """Per task: row count and the accuracy (%) of every rule that applies to it."""
    table: dict[str, dict[str, float | int]] = {}
    by_task: dict[str, list[Prediction]] = defaultdict(list)
    for p in predictions:
        by_task[p.task].append(p)
    for task, rows in sorted(by_task.items()):
        entry: dict[str, float | int] = {"rows": len(rows)}
        for rule in ("letter_correct", "mmau_correct", "aqa_correct"):
            marks = [getattr(p, rule) for p in rows if getattr(p, rule) is not None]
            if marks:
                entry[rule.removesuffix("_correct")] = round(100.0 * sum(marks) / len(marks), 2)
        table[task] = entry
    return table


def markdown_table(table: dict[str, dict[str, float | int]]) -> str:
    lines = [
        "| task | rows | MCQ letter % | MCQ MMAU rule % | AQA substring % |",
        "|---|---|---|---|---|",
    ]
    for task, entry in table.items():
        cells = [str(entry.get(k, "")) for k in ("rows", "letter", "mmau", "aqa")]
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


def evaluate(
    config: MellowConfig, checkpoint: Path | None, output: Path
) -> dict[str, dict[str, float | int]]:
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
    loader = DataLoader(
        dataset,
        batch_size=config.evaluate.batch_size,
        collate_fn=partial(collate, pad_id=dataset.pad_id),
        num_workers=config.data.num_workers,
    )
    bf16 = device.type == "cuda"
    predictions: list[Prediction] = []
    for batch in tqdm(loader, disable=not config.train.progress, unit="batch"):
        batch = batch.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            ids = model.generate(
                batch.wave1, batch.wave2, batch.prompt, config.evaluate.max_new_tokens
            )
        for index, row in zip(batch.indices, ids, strict=True):
            text = tokenizer.decode(row, skip_special_tokens=True).strip()
            predictions.append(score(examples[index], text))
    table = score_table(predictions)
    output.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in predictions)
    write_text_atomic(output / "predictions.jsonl", lines)
    write_text_atomic(output / "scores.json", json.dumps(table, indent=2) + "\n")
    write_text_atomic(output / "scores.md", markdown_table(table))
    return table
