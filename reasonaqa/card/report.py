"""The dataset card (README.md in the Hugging Face style) and plots of a finished run.

Both go where ``RunPaths`` says (``RUN/_card/``); exported, the card becomes the README.md
beside ``data/``, so its ``data_files`` globs are relative to the run folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reasonaqa.card.plots import write_plots
from reasonaqa.card.stats import NOT_SET, compute_stats
from reasonaqa.engine.counts import usd
from reasonaqa.quality.checks import REASONS
from reasonaqa.quality.dedup import DUPLICATE_REASONS
from reasonaqa.quality.passes import PASS_REASONS
from reasonaqa.schemas import LETTERS
from reasonaqa.storage.atomic import write_text_atomic
from reasonaqa.storage.layout import RunPaths

__all__ = ["compute_stats", "render_card", "write_report"]

REASON_TEXT: dict[str, str] = {**REASONS, **PASS_REASONS, **DUPLICATE_REASONS}
PLOT_TITLES = {
    "composition": "Rows per task, focus area and source",
    "answer_letters": "Position of the correct option",
    "rejections": "Items not shipped, by reason",
    "lengths": "Question and answer lengths",
    "second_passes": "Grounding and audio dependence",
}


def write_report(run_root: Path, stats: dict[str, Any] | None = None) -> None:
    """Write the card and its PNG plots (``RunPaths.card``, ``RunPaths.plots``).

    Pass ``stats`` to skip recomputing them. Plot links are relative to the card's folder.
    """
    paths = RunPaths(Path(run_root))
    stats = stats if stats is not None else compute_stats(paths.root)
    plots = write_plots(stats, paths.plots)
    card_dir = paths.card.parent
    relative = {name: path.relative_to(card_dir).as_posix() for name, path in plots.items()}
    write_text_atomic(paths.card, render_card(stats, relative, name=paths.root.name))


def render_card(stats: dict[str, Any], plots: dict[str, str], name: str) -> str:
    """The card's Markdown: YAML front matter, then one section per topic."""
    sections = [
        _front_matter(stats),
        _overview(stats, name),
        _structure(stats),
        _composition(stats),
        _quality(stats),
        _balance(stats),
        _second_passes(stats),
        _lengths(stats),
        _plots(plots),
        _limitations(),
    ]
    return "\n\n".join(s.strip("\n") for s in sections) + "\n"


def _front_matter(stats: dict[str, Any]) -> str:
    lines = [
        "---",
        "language:",
        "- en",
        "license: other",
        "task_categories:",
        "- question-answering",
        "tags:",
        "- audio",
        "- audio-question-answering",
        "- synthetic",
        "size_categories:",
        f"- {_size_category(stats['rows'])}",
        "configs:",
        "- config_name: default",
        "  data_files:",
    ]
    for split in stats["by_split"]:
        lines += [f"  - split: {split}", f"    path: data/{split}-*.parquet"]
    return "\n".join([*lines, "---"])


def _size_category(rows: int) -> str:
    for limit, label in [
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
    ]:
        if rows < limit:
            return label
    return "n>10M"


def _overview(stats: dict[str, Any], name: str) -> str:
    model = f" written by `{stats['model']}`" if stats.get("model") else ""
    run = stats["run"]
    return f"""
# {name}: audio question answering from human captions

{stats["rows"]:,} question-answer rows about {_datasets(stats)} audio clips in the style of
ReasonAQA (the training set of the Mellow audio-language model). Synthetic rows were{model}
from the clips' human captions: the model never heard the audio, so every question is meant
to be answerable by listening.

{_numbers(run)}

{_usage(stats)}
"""


def _numbers(run: dict[str, Any]) -> str:
    """The run's counts in one sentence, as ``RunCounts`` defines them."""
    return (
        f"Of {run['generated']:,} generated items, {run['accepted_before_dedup']:,} passed the "
        f"checks below, {run['duplicates_removed'] or 0:,} of them were removed as duplicates "
        f"and {run['shipped'] or 0:,} shipped; {run['rejected_total']:,} were rejected and "
        f"{run['quarantined_total']:,} quarantined after failed requests."
    )


def _usage(stats: dict[str, Any]) -> str:
    """LLM calls, tokens and, when the run had prices, what they cost."""
    run = stats["run"]
    sessions = stats.get("sessions") or 0
    over = f" over {sessions:,} session(s)" if sessions else ""
    line = (
        f"LLM usage{over}: {run['llm_calls']:,} calls, {run['prompt_tokens']:,} prompt and "
        f"{run['completion_tokens']:,} completion tokens."
    )
    cost = stats.get("cost_usd")
    if cost:
        line += (
            f" Cost: {usd(cost['spent'])} at ${cost['price_input'] or 0:g} / "
            f"${cost['price_output'] or 0:g} per million prompt / completion tokens."
        )
    return line


def _datasets(stats: dict[str, Any]) -> str:
    names = {"audiocaps": "AudioCaps", "clotho": "Clotho"}
    return " and ".join(names.get(d, d) for d in sorted(stats["by_dataset"]))


def _structure(stats: dict[str, Any]) -> str:
    tasks = list(stats["by_task"])
    rows = [
        [split, *(f"{counts.get(t, 0):,}" for t in tasks), f"{sum(counts.values()):,}"]
        for split, counts in stats["by_split_task"].items()
    ]
    return f"""
## Dataset structure

Splits follow the source datasets' own splits, so a clip never appears in two splits.

{_table(["split", *tasks, "total"], rows)}

Main columns: `question`; `answer` (for MCQ the option text, never the letter); `options`
(four strings, MCQ only) and `answer_letter` (a-d); `task` (`mcq`, `detail`, `caption`,
`aqa`, `difference`); `focus` (the focus area of a synthetic question); `source` (the
subset, e.g. `AudioCaps-MCQ`); `dataset`, `split`, `clip_id`, `audio_path`, `captions`;
`grounded` and `audio_contribution` / `audio_votes` (the second-pass checks below); and
provenance (`model`, `template_id`, `template_hash`, `seed`, `raw`). Audio is not included:
`audio_path` is relative to the AudioCaps / Clotho audio folders.

```python
import pandas as pd
train = pd.read_parquet("data", filters=[("split", "==", "{next(iter(stats["by_split"]))}")])
# or: datasets.load_dataset("parquet", data_dir="data")
```
"""


def _composition(stats: dict[str, Any]) -> str:
    focus = [[k, f"{v:,}"] for k, v in stats["by_focus"].items()]
    sources = [[k, f"{v:,}"] for k, v in stats["by_source"].items()]
    return f"""
## Composition

{_table(["focus area", "rows"], focus)}

{_table(["source subset", "rows"], sources)}
"""


def _quality(stats: dict[str, Any]) -> str:
    run = stats["run"]
    reasons = sorted(run["rejected"].items(), key=lambda kv: (-kv[1], kv[0]))
    rows = [[f"`{code}`", f"{n:,}", REASON_TEXT.get(code, "")] for code, n in reasons]
    rows.append(
        [
            "duplicates removed",
            f"{run['duplicates_removed'] or 0:,}",
            "exact or near-duplicate questions about the same clip; one was kept",
        ]
    )
    rows.append(
        [
            "quarantined",
            f"{run['quarantined_total']:,}",
            "requests that failed for good: " + _quarantine_reasons(run),
        ]
    )
    return f"""
## Quality controls

Every generated item went through deterministic checks (one reason code each), answer-
position balancing, duplicate removal and, where enabled, two second-pass LLM checks. An
item can fail several checks; the table counts each rejected item under the reasons the
run recorded.

{_table(["reason", "items", "meaning"], rows)}
"""


def _quarantine_reasons(run: dict[str, Any]) -> str:
    by_reason = {k: v for k, v in run["quarantined"].items() if v}
    if not by_reason:
        return "transport, timeout, length or schema"
    return ", ".join(f"{reason} {n:,}" for reason, n in sorted(by_reason.items()))


def _balance(stats: dict[str, Any]) -> str:
    letters = stats["answer_letters"]
    if not letters:
        return "## Answer-position balance\n\nNo multiple-choice rows."
    columns = [*LETTERS, *([NOT_SET] if any(NOT_SET in c for c in letters.values()) else [])]
    rows = []
    for split, counts in letters.items():
        total = sum(counts.values())
        rows.append(
            [split, f"{total:,}", *(f"{100 * counts.get(c, 0) / total:.1f}%" for c in columns)]
        )
    longest = stats["correct_is_longest"]
    rate = "n/a" if longest["rate"] is None else f"{100 * longest['rate']:.1f}%"
    return f"""
## Answer-position balance

Within each split the correct option is dealt to a, b, c and d in turn over a seeded hash
order of the records, so each letter is correct for a quarter of the MCQs (within one item),
unlike ReasonAQA, where "b" was correct more often than all other letters together.

{_table(["split", "MCQs", *(c if c == NOT_SET else f"{c})" for c in columns)], rows)}

The correct option is the longest option in **{rate}** of MCQs (random would be about 25%;
MMAU test-mini has 33%). Items whose answer is much longer than every distractor are
rejected (`answer_much_longer`).
"""


def _second_passes(stats: dict[str, Any]) -> str:
    audio, grounded = stats["audio_contribution"], stats["grounded"]
    weak = "n/a" if audio["weak_fraction"] is None else f"{100 * audio['weak_fraction']:.1f}%"
    return f"""
## Grounding and audio dependence

- **Grounding**: a second LLM pass reads the captions and the question with reshuffled
  options and must choose the same answer; for detailed answers it judges whether the
  captions support the answer. Items that fail are rejected as `ungrounded`. Shipped MCQ
  and detailed rows: {grounded["yes"]:,} grounded, {grounded["no"]:,} not grounded,
  {grounded["unchecked"]:,} not checked.
- **Audio dependence**: the LLM sees only the question and options, no captions, several
  times (`audio_votes`). `audio_contribution` is `weak` when a strict majority of those
  votes is correct (the question can be answered without listening), else `strong`.
  **{weak}** of checked MCQs are weak ({audio["weak"]:,} weak, {audio["strong"]:,} strong,
  {audio["unchecked"]:,} unchecked). To train or evaluate on audio-dependent questions only:
  `df[df.audio_contribution != "weak"]`.
"""


def _lengths(stats: dict[str, Any]) -> str:
    rows = [_length_row("question (all tasks)", stats["question_words"])]
    rows += [_length_row(f"answer ({task})", s) for task, s in stats["answer_words"].items()]
    return f"""
## Lengths (words)

{_table(["field", "rows", "mean", "median", "95th percentile"], rows)}
"""


def _length_row(name: str, summary: dict[str, Any]) -> list[str]:
    return [
        name,
        f"{summary['rows']:,}",
        str(summary["mean"]),
        str(summary["median"]),
        str(summary["p95"]),
    ]


def _plots(plots: dict[str, str]) -> str:
    if not plots:
        return ""
    figures = "\n\n".join(f"![{PLOT_TITLES[name]}]({path})" for name, path in plots.items())
    return f"## Plots\n\n{figures}"


def _limitations() -> str:
    return """
## Limitations and licensing

The questions were written by a language model from captions, not from the audio: details
absent from the captions cannot be asked about, and the checks above reduce but do not
remove hallucinated or ambiguous items. `weak` items can be answered from text alone.
The license of this card is set to `other`: the captions come from AudioCaps and Clotho and
the text from the model named above; check their licenses before redistributing.
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)
