"""``reasonaqa build``: run a recipe's synthetic parts, import its existing ones, merge.

Synthetic parts run through the generation engine into ``OUT/_synthetic/<part>``; being
resumable, a rerun of the build costs nothing for finished parts. Then every part streams
through one merge into ``OUT/data/<split>-NNNNN.parquet`` with the split check, and the
build writes ``OUT/_run.json`` (generation counts summed over the synthetic parts, as the
dataset card expects, plus rows per split, source and part against the recipe's targets)
and the dataset card ``OUT/_card/``. Only ``data/`` holds names without a leading ``_``, so
``pandas.read_parquet(OUT)`` loads the shards.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasonaqa.card.report import write_report
from reasonaqa.config import GenerateConfig
from reasonaqa.dataset.importers.adiff import read_adiff
from reasonaqa.dataset.importers.captions import caption_rows
from reasonaqa.dataset.importers.clotho_aqa import read_clotho_aqa
from reasonaqa.dataset.importers.entailment import read_entailment
from reasonaqa.dataset.merge import (
    MergeStats,
    PartStream,
    merge_parts,
    tables_from_rows,
    tables_from_shards,
)
from reasonaqa.dataset.recipe import (
    AdiffPart,
    CaptionsPart,
    ClothoAqaPart,
    EntailmentPart,
    ExistingPart,
    Recipe,
    SyntheticPart,
)
from reasonaqa.dataset.splits import Decontamination, SplitGuard
from reasonaqa.engine.counts import RunCounts
from reasonaqa.engine.generate import generate
from reasonaqa.engine.session import RunResult
from reasonaqa.schemas import Clip
from reasonaqa.sources.manifests import build_manifest, read_manifest, write_manifest
from reasonaqa.storage.atomic import write_text_atomic
from reasonaqa.storage.layout import RunPaths
from reasonaqa.storage.ownership import claim_folder


@dataclass
class BuildResult:
    exit_code: int
    stats: MergeStats
    synthetic: dict[str, RunResult]
    summary: dict[str, Any]


def build(recipe: Recipe, out: Path, *, progress: bool = True) -> BuildResult:
    """Build the recipe into ``out``; raises ``InputError`` (incl. split leaks) on bad input."""
    out = Path(out)
    claim_folder(out, "build")  # a folder of the user's is refused before anything is written
    runs = {part.name: _generate(recipe, part, out, progress) for part in recipe.synthetic}
    streams = [
        *(_synthetic_stream(part, out) for part in recipe.synthetic),
        *(_existing_stream(part) for part in recipe.existing),
    ]
    decontamination = (
        Decontamination.load(recipe.decontaminate) if recipe.decontaminate is not None else None
    )
    stats = merge_parts(
        streams,
        out,
        guard=SplitGuard(recipe.audio_root),
        decontamination=decontamination,
        shard_rows=recipe.shard_rows,
    )
    summary = _summary(recipe, stats, runs)
    text = json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n"
    write_text_atomic(RunPaths(out).run_manifest, text)
    write_report(out)
    exit_code = max((run.exit_code for run in runs.values()), default=0)
    return BuildResult(exit_code, stats, runs, summary)


def synthetic_dir(out: Path, part: SyntheticPart) -> Path:
    return Path(out) / "_synthetic" / part.name


def _generate(recipe: Recipe, part: SyntheticPart, out: Path, progress: bool) -> RunResult:
    settings = recipe.generation.model_dump(exclude_none=True)
    config = GenerateConfig(
        manifest=_manifest_for(part, out),
        output=synthetic_dir(out, part),
        tasks=part.tasks,
        per_caption=part.per_caption,
        limit=part.limit,
        seed=recipe.seed,
        shard_rows=recipe.shard_rows,
        progress=progress,
        **settings,
    )
    return generate(config)


def _manifest_for(part: SyntheticPart, out: Path) -> Path:
    """The part's manifest; one built from its caption CSVs when it names CSVs instead."""
    if part.manifest is not None:
        return part.manifest
    path = Path(out) / "_manifests" / f"{part.name}.jsonl"
    write_manifest(_clips(part), path)
    return path


def _clips(part: SyntheticPart | CaptionsPart) -> Iterator[Clip]:
    if part.manifest is not None:
        return read_manifest(part.manifest)
    assert part.dataset is not None and part.split is not None  # checked by the recipe model
    return iter(build_manifest(part.dataset, part.csv, part.split))


def _synthetic_stream(part: SyntheticPart, out: Path) -> PartStream:
    data = synthetic_dir(out, part) / "data"
    return PartStream(part.name, lambda: tables_from_shards(data), part.split)


def _existing_stream(part: ExistingPart) -> PartStream:
    return PartStream(part.name, lambda: tables_from_rows(_existing_rows(part)), part.split)


def _existing_rows(part: ExistingPart) -> Iterator[dict[str, Any]]:
    if isinstance(part, CaptionsPart):
        return caption_rows(_clips(part), part.max_per_clip)
    if isinstance(part, ClothoAqaPart):
        return _chain(read_clotho_aqa(path, part.split, part.min_agreement) for path in part.path)
    if isinstance(part, EntailmentPart):
        return _chain(read_entailment(path, part.split) for path in part.path)
    if isinstance(part, AdiffPart):
        return _chain(read_adiff(path, part.split) for path in part.path)
    raise TypeError(f"unknown part {part!r}")


def _chain(iterators: Iterator[Iterator[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    return itertools.chain.from_iterable(iterators)


def _summary(recipe: Recipe, stats: MergeStats, runs: dict[str, RunResult]) -> dict[str, Any]:
    targets = {part.name: part.target for part in (*recipe.synthetic, *recipe.existing)}
    counts = RunCounts(duplicates_removed=0)  # the synthetic parts' counts, summed
    for run in runs.values():
        counts += run.counts
    return {
        "recipe": recipe.name,
        "model": ", ".join(sorted({_model_of(run) for run in runs.values()})) or None,
        "counts": counts.to_json(),
        "recipe_settings": json.loads(recipe.model_dump_json()),
        "splits": {split: sum(sources.values()) for split, sources in sorted(stats.rows.items())},
        "sources": {split: dict(sorted(sources.items())) for split, sources in stats.rows.items()},
        "parts": {
            name: {"rows": stats.parts.get(name, 0), "target": target}
            for name, target in targets.items()
        },
        "synthetic": {
            name: {"exit_code": run.exit_code, "counts": run.counts.to_json()}
            for name, run in runs.items()
        },
        "clips": stats.clips,
        "decontaminated_rows": stats.removed,
        "clips_without_audio": stats.missing_audio if recipe.audio_root is not None else None,
    }


def _model_of(run: RunResult) -> str:
    """The model a synthetic part ran with, as its own run.json records it."""
    info = json.loads(RunPaths(run.run_dir).run_manifest.read_text(encoding="utf-8"))
    return str(info.get("model") or info.get("backend") or "unknown")
