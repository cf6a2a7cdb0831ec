"""The dataset card (README.md in the Hugging Face style) and plots of a finished run or build.

Both go where ``RunPaths`` says (``RUN/_card/``). The card is built with ``huggingface_hub``'s
card classes: ``DatasetCardData`` writes the YAML metadata (license, configs, size...),
``DatasetCard`` joins it to the Markdown body. ``reasonaqa export hf`` renders the same card
for its own folder (``CardTarget``): its columns, its split names in every path, its plots
beside it, and a loading snippet that runs there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasonaqa.card.plots import write_plots
from reasonaqa.card.stats import NOT_SET, compute_stats
from reasonaqa.engine.counts import usd
from reasonaqa.quality.checks import REASONS
from reasonaqa.quality.dedup import DUPLICATE_REASONS
from reasonaqa.quality.passes import PASS_REASONS
from reasonaqa.schemas import LETTERS, QA_COLUMNS
from reasonaqa.storage.atomic import write_text_atomic
from reasonaqa.storage.layout import RunPaths

__all__ = ["CardTarget", "compute_stats", "render_card", "write_report"]

REASON_TEXT: dict[str, str] = {**REASONS, **PASS_REASONS, **DUPLICATE_REASONS}
PLOT_TITLES = {
    "composition": "Rows per task, focus area and source",
    "answer_letters": "Position of the correct option (synthetic MCQs)",
    "rejections": "Items not shipped, by reason",
    "lengths": "Question and answer lengths",
    "second_passes": "Grounding and audio dependence",
}
# What ``datasets`` calls each split: it reads ``val-*`` files as "validation".
HF_SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}
LICENSE_NAME = "reasonaqa-mixed-sources"
GLOSSARY: dict[str, str] = {
    "AudioCaps-MCQ": "synthetic four-option questions written from AudioCaps captions",
    "AudioCaps-Detail": "synthetic open questions with detailed answers, from AudioCaps captions",
    "Clotho-MCQ": "synthetic four-option questions written from Clotho captions",
    "Clotho-Detail": "synthetic open questions with detailed answers, from Clotho captions",
    "AudioCaps-captions": "captioning: one AudioCaps human caption is the answer",
    "Clotho-captions": "captioning: one Clotho human caption is the answer",
    "ClothoAQA": "ClothoAQA yes/no and one-word questions, the majority of three annotators",
    "CLE": "Clotho entailment (Audio Entailment): is a hypothesis true, false, plausible?",
    "ACE": "AudioCaps entailment (Audio Entailment), same four options",
    "ACD-1": "AudioCaps difference (ADIFF): how two audios differ, in a few words",
    "ACD-2": "AudioCaps difference (ADIFF), in a sentence",
    "ACD-3": "AudioCaps difference (ADIFF), in detail",
    "CLD-1": "Clotho difference (ADIFF): how two audios differ, in a few words",
    "CLD-2": "Clotho difference (ADIFF), in a sentence",
    "CLD-3": "Clotho difference (ADIFF), in detail",
}
COLUMN_TEXT: dict[str, str] = {
    "record_id": "stable id of the row",
    "origin": "`synthetic` (written by the LLM) or `existing` (imported QA)",
    "source": "the subset (glossary below)",
    "dataset": "`audiocaps` or `clotho`",
    "split": "`train`, `val` or `test`",
    "clip_id": "the clip: AudioCaps YouTube id, or Clotho file name as its caption CSV spells it",
    "audio_path": "the clip's audio file, relative to the audio root",
    "captions": "the clip's human captions",
    "task": "`mcq`, `detail`, `caption`, `aqa` or `difference`",
    "question": "the question, or the captioning / difference instruction",
    "answer": "the answer; for MCQ the option text, never the letter",
    "options": "the four options (MCQ only)",
    "answer_letter": "the correct option's letter, a-d (MCQ only)",
    "focus": "the focus area a synthetic question was asked about",
    "clip_id_2": "difference rows: the second clip",
    "audio_path_2": "difference rows: the second clip's audio file",
    "captions_2": "difference rows: the second clip's caption",
    "caption_index": "which caption a synthetic question or captioning row came from",
    "sample_index": "which sample of that caption and task",
    "agreement": "ClothoAQA: share of annotators who gave the answer",
    "raw": "the LLM's reply the row was parsed from",
    "model": "the LLM that wrote the row",
    "template_id": "the prompt template",
    "template_hash": "hash of that template's text",
    "seed": "the request's seed",
    "audio_contribution": "`weak` when the question is answered right without audio, else `strong`",
    "audio_votes": "the options picked without captions or audio",
    "grounded": "whether the grounding pass agreed with the answer",
    "created_at": "when the row was generated",
}


@dataclass(frozen=True)
class CardTarget:
    """Where a card is read: its columns (QA name -> shown name) and split file names."""

    columns: dict[str, str] = field(default_factory=lambda: {c: c for c in QA_COLUMNS})
    file_splits: dict[str, str] = field(default_factory=lambda: {s: s for s in HF_SPLIT_NAMES})
    export: bool = False  # the HF export folder, not a run or build folder

    def split_name(self, split: str) -> str:
        """A split as readers of this folder see it (the export's files say ``validation``)."""
        return HF_SPLIT_NAMES.get(split, split) if self.export else split


def write_report(run_root: Path, stats: dict[str, Any] | None = None) -> None:
    """Write the card and its PNG plots (``RunPaths.card``, ``RunPaths.plots``).

    Pass ``stats`` to skip recomputing them. Plot links are relative to the card's folder.
    """
    paths = RunPaths(Path(run_root))
    stats = stats if stats is not None else compute_stats(paths.root)
    plots = write_plots(stats, paths.plots)
    card_dir = paths.card.parent
    relative = {name: path.relative_to(card_dir).as_posix() for name, path in plots.items()}
    write_text_atomic(paths.card, render_card(stats, relative))


def render_card(
    stats: dict[str, Any], plots: dict[str, str], target: CardTarget | None = None
) -> str:
    """The card: ``DatasetCardData`` metadata, then one Markdown section per topic."""
    from huggingface_hub import DatasetCard, DatasetCardData

    target = target or CardTarget()
    data = DatasetCardData(
        language=["en"],
        license="other",
        license_name=LICENSE_NAME,
        pretty_name=stats["name"],
        task_categories=["question-answering"],
        tags=["audio", "audio-question-answering", "synthetic"],
        size_categories=[_size_category(stats["rows"])],
        configs=[{"config_name": "default", "data_files": _data_files(stats, target)}],
    )
    sections = [
        _overview(stats),
        _settings(stats),
        _structure(stats, target),
        _examples(stats, target),
        _composition(stats),
        _build(stats),
        _quality(stats),
        _balance(stats, target),
        _second_passes(stats),
        _lengths(stats),
        _plots(plots),
        _limitations(),
    ]
    body = "\n\n".join(s.strip("\n") for s in sections if s.strip())
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body}\n"))


def _splits(stats: dict[str, Any]) -> list[str]:
    """The run's splits, train, val and test first."""
    order = list(HF_SPLIT_NAMES)
    return sorted(stats["by_split"], key=lambda s: (order.index(s) if s in order else 3, s))


def _data_files(stats: dict[str, Any], target: CardTarget) -> list[dict[str, str]]:
    return [
        {
            "split": HF_SPLIT_NAMES.get(split, split),
            "path": f"data/{target.file_splits.get(split, split)}-*.parquet",
        }
        for split in _splits(stats)
    ]


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


def _overview(stats: dict[str, Any]) -> str:
    model = f" written by `{stats['model']}`" if stats.get("model") else ""
    run = stats["run"]
    datasets = _datasets(stats) or "AudioCaps or Clotho"
    return f"""
# {stats["name"]}

{stats["rows"]:,} audio question-answer rows about {datasets} clips in the style of ReasonAQA
(the training set of the Mellow audio-language model). Synthetic rows were{model} from the
clips' human captions: the model never heard the audio, so every question is meant to be
answerable by listening.

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


def _settings(stats: dict[str, Any]) -> str:
    settings = stats.get("settings") or {}
    if not settings:
        return ""
    labels = {
        "model": "model",
        "backend": "backend",
        "variant": "prompt variant",
        "temperature": "temperature",
        "top_p": "top-p",
        "max_tokens": "max tokens",
        "seed": "run seed (per-record seeds derive from it)",
        "grounding": "grounding pass",
        "audio_votes": "audio-dependence votes per MCQ",
        "reasonaqa_version": "reasonaqa version",
    }
    rows = [[text, f"`{settings[key]}`"] for key, text in labels.items() if key in settings]
    return f"## Generation settings\n\n{_table(['setting', 'value'], rows)}"


def _structure(stats: dict[str, Any], target: CardTarget) -> str:
    tasks = list(stats["by_task"])
    rows = [
        [
            target.split_name(split),
            *(f"{counts.get(t, 0):,}" for t in tasks),
            f"{sum(counts.values()):,}",
        ]
        for split in _splits(stats)
        for counts in [stats["by_split_task"][split]]
    ]
    columns = "\n".join(
        f"- `{shown}`: {COLUMN_TEXT.get(name, '')}" for name, shown in target.columns.items()
    )
    return f"""
## Dataset structure

Splits follow the source datasets' own splits, so a clip never appears in two splits. Files
are `data/<split>-NNNNN.parquet`.

{_table(["split", *tasks, "total"], rows)}

Columns:

{columns}

Audio is not included: `audio_path` is relative to an audio root laid out as the paths show
(Mellow's release layout by default, `AudioCapsLarger/<split>/Y<id>.wav` and
`ClothoV21/<development|validation|evaluation>/<name>`).

```python
{_snippet(stats, target)}
```
"""


def _snippet(stats: dict[str, Any], target: CardTarget) -> str:
    first = next(iter(_splits(stats)), "train")
    if target.export:
        prefix = target.file_splits.get(first, first)
        return f"""import glob

import datasets
import pandas as pd

# In this folder (or datasets.load_dataset("<user>/<name>") once on the Hub):
splits = datasets.load_dataset("parquet", data_dir=".")
rows = pd.concat(map(pd.read_parquet, sorted(glob.glob("data/{prefix}-*.parquet"))))
print(rows[["question", "{target.columns.get("answer", "answer")}", "source"]].head())"""
    return f"""import pandas as pd

# In the run or build folder: every split, with its `split` column.
rows = pd.read_parquet("data")
{first} = rows[rows.split == "{first}"]
print({first}[["question", "answer", "source"]].head())
# or: datasets.load_dataset("parquet", data_dir="data")"""


def _examples(stats: dict[str, Any], target: CardTarget) -> str:
    examples = stats.get("examples") or {}
    if not examples:
        return ""
    items = []
    for task, row in examples.items():
        audio = row["audio_path"] + (f" + {row['audio_path_2']}" if row.get("audio_path_2") else "")
        lines = [f"- **{task}** (`{row['source']}`, {row['origin']}, audio `{audio}`)"]
        lines.append(f"  - question: {_clip(row['question'], 300)}")
        if row.get("options"):
            options = zip(LETTERS, row["options"], strict=False)
            lines.append("  - options: " + " · ".join(f"{ltr}) {text}" for ltr, text in options))
        letter = f"{row['answer_letter']}) " if row.get("answer_letter") else ""
        lines.append(f"  - answer: {letter}{_clip(row['answer'], 300)}")
        items.append("\n".join(lines))
    return "## Examples, one per task\n\n" + "\n".join(items)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _composition(stats: dict[str, Any]) -> str:
    focus = [[k, f"{v:,}"] for k, v in stats["by_focus"].items()]
    sources = [[k, f"{v:,}", GLOSSARY.get(k, "")] for k, v in stats["by_source"].items()]
    return f"""
## Composition

{_table(["focus area", "rows"], focus)}

Subsets (the `source` column):

{_table(["subset", "rows", "what it is"], sources)}
"""


def _build(stats: dict[str, Any]) -> str:
    """A build's plan: clip identity, names matched after normalisation, leaks, exclusions."""
    build = stats.get("build")
    if not build:
        return ""
    identity, plan = build["identity"], build["plan"]
    lines = [
        "## Clips, identities and splits",
        "",
        "A clip is its dataset, source split folder and file name (AudioCaps: YouTube id and"
        " start time); names are compared after whitespace normalisation. Every clip was"
        " checked to lie in one split before any question was generated.",
        "",
        f"- Rows matched to a caption clip only after whitespace normalisation:"
        f" {identity.get('normalised_rows', 0):,} ({identity.get('normalised_names', 0):,}"
        " spellings; each is listed in `_plan.json`).",
        f"- Imported rows that match no caption clip of this build:"
        f" {identity.get('unmatched_rows', 0):,} ({identity.get('unmatched_clips', 0):,} clips)"
        + _per_part(identity.get("unmatched_rows_by_part") or {}),
    ]
    reuse = plan.get("name_reuse") or []
    if reuse:
        names = "; ".join(
            f"`{e['name']}` ({', '.join(e['folders'])}{'' if e['known'] else ', not a known case'})"
            for e in reuse
        )
        lines.append(
            f"- Clotho file names in two split folders, distinct recordings and not leaks: {names}."
        )
    leaks = plan.get("leaks") or []
    lines.append(f"- Clips found in more than one split: {len(leaks):,}.")
    lines += [
        f"  - `{e['clip']}` in {', '.join(e['splits'])} ({e['by']}): {e['decision']}"
        for e in leaks[:20]
    ]
    for entry in plan.get("excluded") or []:
        lines.append(
            f"- Excluded `{entry['clip']}` from {entry['split']} ({entry['from']}):"
            f" {len(entry['clips'])} clip(s)."
        )
    dropped = build.get("dropped_rows") or {}
    if dropped:
        lines.append(
            "- Rows left out: " + ", ".join(f"{reason} {n:,}" for reason, n in dropped.items())
        )
    return "\n".join(lines)


def _per_part(by_part: dict[str, int]) -> str:
    if not by_part:
        return "."
    return ": " + ", ".join(f"{part} {rows:,}" for part, rows in by_part.items()) + "."


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


def _balance(stats: dict[str, Any], target: CardTarget) -> str:
    letters = stats["answer_letters"]
    parts = ["## Answer-position balance"]
    if letters:
        columns = [*LETTERS, *([NOT_SET] if any(NOT_SET in c for c in letters.values()) else [])]
        header = ["split", "synthetic MCQs", *(c if c == NOT_SET else f"{c})" for c in columns)]
        longest = stats["correct_is_longest"]
        rate = "n/a" if longest["rate"] is None else f"{100 * longest['rate']:.1f}%"
        parts.append(
            "Within each split the correct option of the **synthetic** MCQs is dealt to a, b, c"
            " and d in turn over a seeded hash order of the records, so each letter is correct"
            ' for a quarter of them (within one item), unlike ReasonAQA, where "b" was correct'
            " more often than all other letters together.\n\n"
            + _table(
                header,
                [
                    _shares(target.split_name(s), letters[s], columns)
                    for s in _splits(stats)
                    if s in letters
                ],
            )
            + f"\n\nThe correct option is the longest option in **{rate}** of synthetic MCQs"
            " (random would be about 25%; MMAU test-mini has 33%). Items whose answer is much"
            " longer than every distractor are rejected (`answer_much_longer`)."
        )
    else:
        parts.append("No synthetic multiple-choice rows.")
    existing = stats.get("existing_answer_letters") or {}
    if existing:
        header = ["subset", "imported MCQs", *(f"{c})" for c in LETTERS)]
        parts.append(
            "Imported MCQs keep their release's fixed option order (the entailment sets:"
            ' a) "It is definitely true" for entailment, b) "It is definitely false" for'
            ' contradiction, c) "It is plausible" for neutral, d) never correct), so there the'
            " letter encodes the label and is not balanced:\n\n"
            + _table(header, [_shares(s, c, list(LETTERS)) for s, c in existing.items()])
        )
    return "\n\n".join(parts)


def _shares(label: str, counts: dict[str, int], columns: list[str]) -> list[str]:
    total = sum(counts.values())
    return [
        label,
        f"{total:,}",
        *(f"{100 * counts.get(c, 0) / total:.1f}%" if total else "n/a" for c in columns),
    ]


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
  **{weak}** of checked synthetic MCQs are weak ({audio["weak"]:,} weak, {audio["strong"]:,}
  strong, {audio["unchecked"]:,} unchecked). To train or evaluate on audio-dependent
  questions only: `df[df.audio_contribution != "weak"]`.
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
    return f"""
## Limitations and licensing

The questions were written by a language model from captions, not from the audio: details
absent from the captions cannot be asked about, and the checks above reduce but do not
remove hallucinated or ambiguous items. `weak` items can be answered from text alone.

The license is `other` (`{LICENSE_NAME}`): the rows mix sources with their own terms.
AudioCaps captions, Audio Entailment (CLE, ACE) and ADIFF (ACD, CLD) are released under the
MIT license; Clotho and ClothoAQA under the terms of their own releases (their audio under
each file's Freesound license); the synthetic text is the named model's output, under that
model's terms of use. Check each before redistributing.
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)
