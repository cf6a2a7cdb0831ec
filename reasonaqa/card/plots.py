"""PNG plots of a run's statistics (from ``stats.compute_stats``), drawn with matplotlib.

Figures are built with the object API on the Agg canvas, never through pyplot, so nothing
global changes and no display is needed. Each function returns None when it has no data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from reasonaqa.schemas import LETTERS
from reasonaqa.storage.atomic import atomic_path

Stats = dict[str, Any]
COLORS = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB"]


def answer_letters(stats: Stats) -> Figure | None:
    per_split = stats["answer_letters"]
    if not per_split:
        return None
    splits = list(per_split)
    fig = Figure(figsize=(max(6.0, 1.6 * len(splits) + 2), 4.2))
    ax = fig.add_subplot()
    width = 0.8 / len(LETTERS)
    x = np.arange(len(splits))
    for i, letter in enumerate(LETTERS):
        shares = [_percent(per_split[s][letter], sum(per_split[s].values())) for s in splits]
        bars = ax.bar(x + (i - 1.5) * width, shares, width, label=f"{letter})", color=COLORS[i])
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
    ax.axhline(25, color="black", linestyle="--", linewidth=1, label="25% (balanced)")
    ax.set_xticks(x, [f"{s}\n({sum(per_split[s].values()):,} MCQs)" for s in splits])
    ax.set_ylabel("share of MCQs with this correct letter (%)")
    highest = max(
        _percent(c[letter], sum(c.values())) for c in per_split.values() for letter in LETTERS
    )
    ax.set_ylim(0, max(40.0, highest * 1.25))  # room for the legend above the bars
    ax.set_title("Position of the correct option, per split")
    ax.legend(ncols=5, loc="upper center", fontsize=8, frameon=False)
    return fig


def composition(stats: Stats) -> Figure | None:
    if not stats["rows"]:
        return None
    panels = [
        ("Rows per task (stacked by split)", None),
        ("Rows per focus area", stats["by_focus"]),
        ("Rows per source subset", stats["by_source"]),
    ]
    heights = [max(1.5, 0.35 * len(stats["by_task"]) + 1)]
    heights += [max(1.5, 0.35 * len(counts) + 1) for _, counts in panels[1:]]
    fig = Figure(figsize=(8, sum(heights) + 0.6), layout="constrained")
    axes = fig.subplots(len(panels), 1, height_ratios=heights)
    _stacked_tasks(axes[0], stats["by_split_task"], stats["by_task"])
    axes[0].set_title(panels[0][0])
    for ax, (title, counts) in zip(axes[1:], panels[1:], strict=True):
        labels = list(counts)[::-1]
        bars = ax.barh(labels, list(counts.values())[::-1], color=COLORS[0])
        ax.bar_label(bars, labels=[f"{v:,}" for v in list(counts.values())[::-1]], padding=3)
        ax.set_title(title)
        ax.set_xlabel("rows")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.margins(x=0.15)
    return fig


def _stacked_tasks(ax: Any, split_task: dict[str, dict[str, int]], by_task: dict[str, int]) -> None:
    tasks = list(by_task)[::-1]
    left = np.zeros(len(tasks))
    for i, (split, counts) in enumerate(split_task.items()):
        values = np.array([counts.get(t, 0) for t in tasks], dtype=float)
        ax.barh(tasks, values, left=left, label=split, color=COLORS[i % len(COLORS)])
        left += values
    for y, total in enumerate(left):
        ax.text(total, y, f" {int(total):,}", va="center")
    ax.set_xlabel("rows")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(x=0.15)
    ax.legend(title="split", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def rejections(stats: Stats) -> Figure | None:
    run = stats["run"]
    counts = dict(run["rejected"])
    counts["duplicates removed"] = run["duplicates_removed"] or 0
    counts["quarantined (failed requests)"] = run["quarantined_total"]
    counts = {k: v for k, v in sorted(counts.items(), key=lambda kv: kv[1]) if v > 0}
    if not counts:
        return None
    fig = Figure(figsize=(8, 0.35 * len(counts) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    bars = ax.barh(list(counts), list(counts.values()), color=COLORS[1])
    ax.bar_label(bars, labels=[f"{v:,}" for v in counts.values()], padding=3)
    ax.set_xlabel("items")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(x=0.15)
    ax.set_title(f"Items not shipped, by reason ({run['shipped'] or 0:,} shipped)")
    return fig


def lengths(stats: Stats) -> Figure | None:
    if not stats["rows"]:
        return None
    fig = Figure(figsize=(11, 4), layout="constrained")
    q_ax, a_ax = fig.subplots(1, 2)
    question = np.array(stats["question_words"]["histogram"])
    _histogram(q_ax, {"all tasks": question})
    q_ax.set_title("Question length")
    answers = {t: np.array(s["histogram"]) for t, s in stats["answer_words"].items()}
    _histogram(a_ax, answers)
    a_ax.set_title("Answer length, per task")
    return fig


def _histogram(ax: Any, series: dict[str, np.ndarray]) -> None:
    top = max(_percentile_words(h, 0.99) for h in series.values()) + 2
    for i, (name, histogram) in enumerate(series.items()):
        if histogram.sum() == 0:
            continue
        share = 100 * histogram[: top + 1] / histogram.sum()
        ax.step(np.arange(share.size), share, where="mid", label=name, color=COLORS[i % 7])
    ax.set_xlim(0, top)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("words")
    ax.set_ylabel("share of rows (%)")
    ax.legend(fontsize=8)


def _percentile_words(histogram: np.ndarray, q: float) -> int:
    if histogram.sum() == 0:
        return 0
    return int(np.searchsorted(np.cumsum(histogram), q * histogram.sum()))


def second_passes(stats: Stats) -> Figure | None:
    audio, grounded = stats["audio_contribution"], stats["grounded"]
    if stats["mcq_rows"] == 0:
        return None
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    for ax, title, counts in zip(
        fig.subplots(1, 2),
        ["Audio dependence (MCQ)", "Grounding in captions (MCQ and detailed)"],
        [
            {"strong": audio["strong"], "weak": audio["weak"], "unchecked": audio["unchecked"]},
            {
                "grounded": grounded["yes"],
                "not grounded": grounded["no"],
                "unchecked": grounded["unchecked"],
            },
        ],
        strict=True,
    ):
        bars = ax.bar(list(counts), list(counts.values()), color=COLORS[2:5])
        total = sum(counts.values())
        ax.bar_label(bars, labels=[f"{v:,}\n({_percent(v, total):.1f}%)" for v in counts.values()])
        ax.set_ylabel("rows")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, max(counts.values()) * 1.3 + 1)
        ax.set_title(title)
    return fig


PLOTS: dict[str, Callable[[Stats], Figure | None]] = {
    "composition": composition,
    "answer_letters": answer_letters,
    "rejections": rejections,
    "lengths": lengths,
    "second_passes": second_passes,
}


def write_plots(stats: Stats, directory: Path) -> dict[str, Path]:
    """Draw every plot that has data; each PNG is written atomically. Returns name -> path."""
    written: dict[str, Path] = {}
    for name, draw in PLOTS.items():
        fig = draw(stats)
        if fig is None:
            continue
        path = directory / f"{name}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
        written[name] = path
    return written


def _percent(part: int, whole: int) -> float:
    return 100 * part / whole if whole else 0.0
