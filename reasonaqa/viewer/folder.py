"""What the viewer reads from a run or build folder: Parquet files by status, counts, plots.

A run keeps its set-aside rows in ``_rejected/`` and ``_quarantine/``; a build keeps them in
each synthetic part, ``_synthetic/<part>/_rejected/`` and so on, while its own ``data/``
holds the merged accepted rows (a part's ``data/`` is already in there, so it is skipped).
Nothing here writes: the viewer must leave the user's folder exactly as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from reasonaqa.errors import InputError
from reasonaqa.storage.layout import RunPaths

Status = Literal["accepted", "rejected", "quarantined"]
STATUSES: tuple[Status, ...] = ("accepted", "rejected", "quarantined")


@dataclass(frozen=True)
class Folder:
    """A run or build folder as the viewer sees it."""

    root: Path
    kind: Literal["run", "build"]
    files: dict[Status, tuple[Path, ...]]
    plots: tuple[Path, ...]
    summary: dict[str, Any]

    @property
    def name(self) -> str:
        return self.root.name


def open_folder(root: Path) -> Folder:
    """Find the Parquet files of each status; raises ``InputError`` on anything else."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise InputError("no such folder", file=root)
    paths = RunPaths(root)
    parts = _synthetic_parts(root)
    set_aside_roots = [paths, *parts]
    files: dict[Status, tuple[Path, ...]] = {
        "accepted": _parquet_in(paths.data),
        "rejected": tuple(p for r in set_aside_roots for p in _parquet_in(r.rejected)),
        "quarantined": tuple(p for r in set_aside_roots for p in _parquet_in(r.quarantine)),
    }
    if not any(files.values()):
        raise InputError(
            "no Parquet files under data/, _rejected/ or _quarantine/: not a run or build folder",
            file=root,
        )
    plots = tuple(sorted(paths.plots.glob("*.png"))) if paths.plots.is_dir() else ()
    kind: Literal["run", "build"] = "build" if parts else "run"
    return Folder(root, kind, files, plots, _read_summary(paths.run_manifest))


def _synthetic_parts(root: Path) -> list[RunPaths]:
    parts = root / "_synthetic"
    if not parts.is_dir():
        return []
    return [RunPaths(p) for p in sorted(parts.iterdir()) if p.is_dir()]


def _parquet_in(directory: Path) -> tuple[Path, ...]:
    # Names starting with "." or "_" are staging or old copies being swapped out, never rows.
    if not directory.is_dir():
        return ()
    return tuple(
        p
        for p in sorted(directory.glob("*.parquet"))
        if p.is_file() and not p.name.startswith((".", "_"))
    )


def _read_summary(path: Path) -> dict[str, Any]:
    """``_run.json`` as an object; empty when it is missing or unreadable (still browsable)."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def summary_figures(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """The card's headline figures from ``_run.json``: (label, number or {name: number})."""
    counts = summary.get("counts")
    if not isinstance(counts, dict):
        return []
    figures: list[tuple[str, Any]] = [
        (name.replace("_", " "), value)
        for name, value in counts.items()
        if _is_count(value) or _is_count_table(value)
    ]
    # A build records its splits and sources beside the counts.
    for name in ("splits", "by_split"):
        if _is_count_table(summary.get(name)):
            figures.append(("rows by split", summary[name]))
    if summary.get("model"):
        figures.insert(0, ("model", str(summary["model"])))
    return figures


def _is_count(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_count_table(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(_is_count(v) for v in value.values())
