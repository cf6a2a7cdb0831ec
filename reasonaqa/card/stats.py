"""Statistics of a finished run, read from its shards and run manifest in bounded memory.

``compute_stats(run_root)`` reads ``data/*.parquet`` and the run manifest (``counts``, the
run's ``RunCounts``; ``cost_usd``, ``sessions``,
``model``, the generation settings and, for a build, its plan) and returns plain JSON-able
dicts; ``report.py`` turns them into the dataset card and plots. A finished run with no
accepted row (no shard) has statistics too: that is when its rejection reasons matter most.

Answer-letter balance and the longest-option rate are counted over the synthetic MCQs, whose
letters the engine deals; imported MCQs (the entailment sets) keep their release's fixed
option order, so their letters are counted apart, by subset.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reasonaqa.engine.counts import RunCounts
from reasonaqa.errors import InputError
from reasonaqa.quality.balance import correct_is_longest
from reasonaqa.quality.text import option_index
from reasonaqa.schemas import LETTERS
from reasonaqa.storage.layout import RunPaths
from reasonaqa.storage.shards import iter_batches, shard_paths

COLUMNS = [
    "origin",
    "dataset",
    "split",
    "task",
    "focus",
    "source",
    "question",
    "answer",
    "options",
    "answer_letter",
    "audio_contribution",
    "grounded",
    "audio_path",
    "audio_path_2",
    "captions",
]
EXAMPLE_FIELDS = (
    "source",
    "audio_path",
    "audio_path_2",
    "captions",
    "question",
    "options",
    "answer",
    "answer_letter",
)
# Word counts above this share the last histogram bin.
MAX_WORDS = 200
NOT_SET = "(not set)"


def compute_stats(run_root: Path) -> dict[str, Any]:
    """Counts, balance, lengths and check outcomes of the run at ``run_root``."""
    paths = RunPaths(Path(run_root))
    counts, run_info = _read_run_manifest(paths.run_manifest)
    if not paths.data.is_dir():
        raise InputError("no data/ folder: is this a finished run?", file=paths.root)
    # A finished run may ship no row at all: its card still says why.
    shards = shard_paths(paths.data) if any(paths.data.glob("*.parquet")) else []
    acc = _Accumulator()
    for batch in iter_batches(shards, columns=COLUMNS):
        acc.add(pa.Table.from_batches([batch]))
    stats = acc.result()
    stats["run"] = counts.to_json()
    stats["cost_usd"] = run_info.get("cost_usd")
    stats["sessions"] = len(run_info.get("sessions") or [])
    stats["model"] = run_info.get("model")
    stats["name"] = run_info.get("recipe") or paths.root.resolve().name
    stats["build"] = _build_info(run_info)
    stats["settings"] = _settings(run_info)
    stats["shards"] = [str(p.relative_to(paths.root)) for p in shards]
    return stats


def _build_info(info: dict[str, Any]) -> dict[str, Any] | None:
    """A build's plan outcome (identities, leaks, exclusions); None for a generate run."""
    if "recipe" not in info:
        return None
    return {
        "recipe": info["recipe"],
        "identity": info.get("identity") or {},
        "plan": info.get("plan") or {},
        "dropped_rows": info.get("dropped_rows") or {},
        "parts": info.get("parts") or {},
    }


def _settings(info: dict[str, Any]) -> dict[str, Any]:
    """Generation settings: a build's shared ones, or a run's own configuration."""
    if isinstance(info.get("generation"), dict):
        chosen = dict(info["generation"])
        chosen.pop("parts", None)
    else:
        config = info.get("config") if isinstance(info.get("config"), dict) else {}
        sampling = config.get("sampling") if isinstance(config.get("sampling"), dict) else {}
        chosen = {
            "backend": info.get("backend") or config.get("backend"),
            "model": info.get("model") or config.get("model"),
            "variant": config.get("variant"),
            "temperature": sampling.get("temperature"),
            "top_p": sampling.get("top_p"),
            "max_tokens": sampling.get("max_tokens"),
            "seed": config.get("seed"),
            "grounding": config.get("grounding"),
            "audio_votes": config.get("audio_votes"),
        }
    chosen["model"] = info.get("model") or chosen.get("model")
    chosen["reasonaqa_version"] = info.get("reasonaqa_version")
    return {key: value for key, value in chosen.items() if value is not None}


def _read_run_manifest(path: Path) -> tuple[RunCounts, dict[str, Any]]:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise InputError(f"{path.name} is missing: is this a run folder?", file=path) from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"not valid JSON: {err}", file=path) from err
    if not isinstance(info, dict):
        raise InputError("expected a JSON object", file=path)
    return RunCounts.from_json(info.get("counts"), path), info


def _word_counts(column: pa.ChunkedArray) -> np.ndarray:
    counts = pc.list_value_length(pc.utf8_split_whitespace(pc.fill_null(column, "")))
    return np.minimum(counts.to_numpy(zero_copy_only=False), MAX_WORDS)


def _summary(histogram: np.ndarray) -> dict[str, Any]:
    total = int(histogram.sum())
    if total == 0:
        return {"rows": 0, "mean": None, "median": None, "p95": None, "histogram": []}
    cumulative = np.cumsum(histogram)
    return {
        "rows": total,
        "mean": round(float((histogram * np.arange(histogram.size)).sum() / total), 2),
        "median": int(np.searchsorted(cumulative, total / 2)),
        "p95": int(np.searchsorted(cumulative, total * 0.95)),
        "histogram": histogram.tolist(),
    }


class _Accumulator:
    """Running totals over record batches; memory does not grow with the row count."""

    def __init__(self) -> None:
        self.rows = 0
        self.counters: dict[str, Counter[str]] = {
            name: Counter() for name in ("dataset", "split", "task", "focus", "source")
        }
        self.split_task: Counter[tuple[str, str]] = Counter()
        self.letters: Counter[tuple[str, str]] = Counter()  # synthetic MCQs: (split, letter)
        self.existing_letters: Counter[tuple[str, str]] = Counter()  # (source, letter)
        self.examples: dict[str, dict[str, Any]] = {}
        self.mcq_rows = 0
        self.longest = 0
        self.unmatched = 0
        self.audio: Counter[str] = Counter()
        self.grounded: Counter[str] = Counter()
        self.question_words = np.zeros(MAX_WORDS + 1, dtype=np.int64)
        self.answer_words: dict[str, np.ndarray] = {}

    def add(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        for name, counter in self.counters.items():
            counter.update(_value_counts(table[name]))
        self.split_task.update(_pair_counts(table, "split", "task"))
        self.question_words += np.bincount(_word_counts(table["question"]), minlength=MAX_WORDS + 1)
        for task in pc.unique(table["task"]).to_pylist():
            subset = table.filter(pc.equal(table["task"], task))
            words = np.bincount(_word_counts(subset["answer"]), minlength=MAX_WORDS + 1)
            self.answer_words[task] = self.answer_words.get(task, 0) + words
        mcq = table.filter(pc.equal(table["task"], "mcq"))
        synthetic = pc.equal(mcq["origin"], "synthetic")
        self._add_mcq(mcq.filter(synthetic))
        self.existing_letters.update(
            _pair_counts(mcq.filter(pc.invert(synthetic)), "source", "answer_letter")
        )
        self._add_examples(table)
        generated = table.filter(pc.is_in(table["task"], pa.array(["mcq", "detail"])))
        grounded = pc.cast(generated["grounded"], pa.string())
        self.grounded.update(_value_counts(grounded, missing="unchecked"))

    def _add_mcq(self, mcq: pa.Table) -> None:
        self.mcq_rows += mcq.num_rows
        self.letters.update(_pair_counts(mcq, "split", "answer_letter"))
        rows = zip(
            mcq["options"].to_pylist(),
            mcq["answer"].to_pylist(),
            mcq["answer_letter"].to_pylist(),
            strict=True,
        )
        for options, answer, letter in rows:
            longest = _answer_is_longest(options, answer, letter)
            self.unmatched += longest is None
            self.longest += bool(longest)
        self.audio.update(_value_counts(mcq["audio_contribution"], missing="unchecked"))

    def _add_examples(self, table: pa.Table) -> None:
        """The first row of each task (synthetic first, where a task has both origins)."""
        for task in pc.unique(table["task"]).to_pylist():
            held = self.examples.get(task)
            if held is not None and held["origin"] == "synthetic":
                continue
            rows = table.filter(pc.equal(table["task"], task))
            synthetic = rows.filter(pc.equal(rows["origin"], "synthetic"))
            if synthetic.num_rows:
                rows = synthetic
            elif held is not None:
                continue
            row = rows.slice(0, 1).to_pylist()[0]
            self.examples[task] = {"origin": row["origin"]} | {
                name: row[name] for name in EXAMPLE_FIELDS
            }

    def _letters(self) -> dict[str, dict[str, int]]:
        """Per split, rows per correct letter; NOT_SET only where an MCQ has no letter."""
        letters = {split: dict.fromkeys(LETTERS, 0) for split, _ in sorted(self.letters)}
        for (split, letter), n in self.letters.items():
            letters[split][letter] = n
        return letters

    def result(self) -> dict[str, Any]:
        checked = self.mcq_rows - self.unmatched
        audio_checked = self.audio["weak"] + self.audio["strong"]
        return {
            "rows": self.rows,
            **{f"by_{name}": _sorted(counter) for name, counter in self.counters.items()},
            "by_split_task": _nested(self.split_task),
            "answer_letters": self._letters(),
            "existing_answer_letters": _nested(self.existing_letters),
            "mcq_rows": self.mcq_rows,
            "examples": dict(sorted(self.examples.items())),
            "correct_is_longest": {
                "rows": self.longest,
                "rate": round(self.longest / checked, 4) if checked else None,
                "unmatched": self.unmatched,
            },
            "audio_contribution": {
                "weak": self.audio["weak"],
                "strong": self.audio["strong"],
                "unchecked": self.audio["unchecked"],
                "weak_fraction": round(self.audio["weak"] / audio_checked, 4)
                if audio_checked
                else None,
            },
            "grounded": {
                "yes": self.grounded["true"],
                "no": self.grounded["false"],
                "unchecked": self.grounded["unchecked"],
            },
            "question_words": _summary(self.question_words),
            "answer_words": {task: _summary(h) for task, h in sorted(self.answer_words.items())},
        }


def _answer_is_longest(options: list[str], answer: str, letter: str | None) -> bool | None:
    """``balance.correct_is_longest``, through the letter when it points at the answer (the
    fast path for engine-written rows); None when the answer is not one of the options."""
    index = LETTERS.find(letter) if letter else -1
    if 0 <= index < len(options) and options[index].strip() == answer.strip():
        length = len(options[index].strip())
        return all(length > len(o.strip()) for i, o in enumerate(options) if i != index)
    if len(options) < 2 or option_index(options, answer) is None:
        return None
    return correct_is_longest(options, answer)


def _value_counts(column: pa.ChunkedArray, missing: str = NOT_SET) -> Counter[str]:
    counts: Counter[str] = Counter()
    for entry in pc.value_counts(column).to_pylist():
        value = entry["values"]
        counts[missing if value is None else str(value)] += entry["counts"]
    return counts


def _pair_counts(table: pa.Table, first: str, second: str) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for row in table.group_by([first, second]).aggregate([([], "count_all")]).to_pylist():
        counts[(row[first], row[second] or NOT_SET)] += row["count_all"]
    return counts


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _nested(counter: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    nested: dict[str, dict[str, int]] = {}
    for (outer, inner), n in sorted(counter.items()):
        nested.setdefault(outer, {})[inner] = n
    return nested
