"""``reasonaqa build``: plan the recipe, run its synthetic parts, import the rest, merge.

Order of work, so that nothing is asked of the LLM before every input is known to be good:

1. Plan (``dataset.plan``): read every source file, identify every clip, run the split guard
   over all of them, apply ``exclude``/``decontaminate`` and the ``split_leaks`` policy, and
   write ``OUT/_plan.json``. Leaks under ``split_leaks: fail`` stop the build here, all of
   them listed. The plan is reused while the recipe and the bytes of its files are unchanged.
2. Write each synthetic part's manifest (``OUT/_manifests/<part>.jsonl``, dropped clips left
   out) and refuse, before any request, parts whose folder holds a run of other settings
   (``--force-new`` starts those over; their cached LLM answers are kept).
3. Each synthetic part runs through the generation engine into ``OUT/_synthetic/<part>``, or
   is reused as it stands when its fingerprint and records are unchanged since its last
   finalize (``engine.reuse``).
4. Every part streams through one merge into ``OUT/data/<split>-NNNNN.parquet``: each row
   takes its clip's canonical id and its audio path from ``audio_layout``, the guard checks
   the identities once more, and the build writes ``OUT/_run.json`` and the card
   ``OUT/_card/``. When the plan and every part are unchanged since the last build (its
   ``stamp``), step 4 is skipped: a finished build reruns in seconds.

Only ``data/`` holds names without a leading ``_``, so ``pandas.read_parquet(OUT)`` loads the
shards.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from reasonaqa import __version__
from reasonaqa.config import GenerateConfig
from reasonaqa.dataset.importers.captions import caption_rows
from reasonaqa.dataset.merge import (
    KEYED_SCHEMA,
    MergeStats,
    PartStream,
    merge_parts,
    tables_from_rows,
    tables_from_shards,
)
from reasonaqa.dataset.plan import Plan, existing_rows, failing_leaks, make_plan, part_files
from reasonaqa.dataset.recipe import CaptionsPart, ExistingPart, Recipe, SyntheticPart
from reasonaqa.dataset.splits import SplitGuard, SplitLeakError
from reasonaqa.engine.counts import RunCounts
from reasonaqa.engine.fingerprint import file_sha256
from reasonaqa.engine.generate import generate
from reasonaqa.engine.reuse import RunState, expected_fingerprint, run_state, saved_counts
from reasonaqa.engine.session import RunResult
from reasonaqa.errors import InputError
from reasonaqa.schemas import Clip
from reasonaqa.sources.manifests import write_manifest
from reasonaqa.storage.atomic import write_text_atomic
from reasonaqa.storage.layout import RunPaths
from reasonaqa.storage.ownership import claim_folder

# Bump when the plan or the merge would come out differently for the same inputs.
BUILD_FORMAT = 1


@dataclass
class BuildResult:
    exit_code: int
    summary: dict[str, Any]
    synthetic: dict[str, RunResult]
    reused: set[str] = field(default_factory=set)  # synthetic parts reused as they stood
    merged: bool = True  # False when nothing changed since the last build


def build(
    recipe: Recipe, out: Path, *, progress: bool = True, force_new: bool = False
) -> BuildResult:
    """Build the recipe into ``out``; raises ``InputError`` (incl. every split leak) early."""
    out = Path(out)
    claim_folder(out, "build")  # a folder of the user's is refused before anything is written
    out.mkdir(parents=True, exist_ok=True)
    paths = RunPaths(out)
    inputs = _inputs(recipe)
    plan = None
    report = _saved_plan(paths, inputs, recipe)
    if report is None:
        plan = make_plan(recipe, inputs)
        report = plan.report
        _write_json(paths.plan, report)
    leaks = failing_leaks(report)
    if leaks:
        raise SplitLeakError(leaks, paths.plan)
    if plan is not None:
        for part in recipe.synthetic:
            _write_if_changed(plan.part_clips(part), manifest_path(out, part))
    configs = {
        part.name: _config(recipe, part, out, progress, force_new) for part in recipe.synthetic
    }
    states = {name: (expected_fingerprint(c), run_state(c)) for name, c in configs.items()}
    _refuse_other_settings(states, force_new)

    runs: dict[str, RunResult] = {}
    reused: set[str] = set()
    versions: dict[str, tuple[str, int]] = {}
    for name, config in configs.items():
        expected, state = states[name]
        if state is not None and state.fingerprint == expected and state.finished is not None:
            runs[name] = RunResult(
                config.output, expected, state.finished, saved_counts(config.output)
            )
            reused.add(name)
        else:
            runs[name] = generate(config)
            state = run_state(config)
        versions[name] = (expected, state.records_version if state is not None else 0)

    stamp = _stamp(inputs, versions)
    previous = _read_json(paths.run_manifest)
    exit_code = max((run.exit_code for run in runs.values()), default=0)
    if previous.get("stamp") == stamp and paths.data.is_dir() and paths.card.is_file():
        return BuildResult(exit_code, previous, runs, reused, merged=False)

    if plan is None:  # the plan was reused, but a part changed: the merge needs its catalog
        plan = make_plan(recipe, inputs)
    stats = merge_parts(
        _streams(recipe, out, plan), out, guard=SplitGuard(), shard_rows=recipe.shard_rows
    )
    summary = _summary(recipe, plan, stats, runs, configs, stamp)
    _write_json(paths.run_manifest, summary)
    from reasonaqa.card.report import write_report  # matplotlib: only when there is a card

    write_report(out)
    return BuildResult(exit_code, summary, runs, reused)


def synthetic_dir(out: Path, part: SyntheticPart) -> Path:
    return Path(out) / "_synthetic" / part.name


def manifest_path(out: Path, part: SyntheticPart) -> Path:
    return Path(out) / "_manifests" / f"{part.name}.jsonl"


# -- plan ------------------------------------------------------------------------------------


def _inputs(recipe: Recipe) -> dict[str, Any]:
    """What the plan depends on: the recipe (less its generation settings) and file bytes."""
    files = {str(path): file_sha256(path) for path in part_files(recipe)}
    settings = recipe.model_dump(mode="json", exclude={"generation"})
    blob = json.dumps(
        [BUILD_FORMAT, __version__, settings, files], sort_keys=True, separators=(",", ":")
    )
    return {"stamp": hashlib.sha256(blob.encode()).hexdigest()[:24], "files": files}


def _saved_plan(paths: RunPaths, inputs: dict[str, Any], recipe: Recipe) -> dict[str, Any] | None:
    """The last plan's report when its inputs are these and its manifests are in place."""
    saved = _read_json(paths.plan)
    if saved.get("inputs", {}).get("stamp") != inputs["stamp"]:
        return None
    if not all(manifest_path(paths.root, part).is_file() for part in recipe.synthetic):
        return None
    return saved


def _write_if_changed(clips: list[Clip], path: Path) -> None:
    """Write the manifest unless the file already holds exactly these clips."""
    if not clips:
        raise InputError(f"synthetic part {path.stem!r} has no clips left after the plan")
    text = "".join(json.dumps(clip.model_dump(), ensure_ascii=False) + "\n" for clip in clips)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    write_manifest(clips, path)


# -- generation ------------------------------------------------------------------------------


def _config(
    recipe: Recipe, part: SyntheticPart, out: Path, progress: bool, force_new: bool
) -> GenerateConfig:
    settings = recipe.generation.model_dump(exclude_none=True)
    return GenerateConfig(
        manifest=manifest_path(out, part),
        output=synthetic_dir(out, part),
        tasks=part.tasks,
        per_caption=part.per_caption,
        limit=part.limit,
        seed=recipe.seed,
        shard_rows=recipe.shard_rows,
        progress=progress,
        force_new=force_new,
        **settings,
    )


def _refuse_other_settings(states: dict[str, tuple[str, RunState | None]], force_new: bool) -> None:
    """Before any request: parts whose folder holds a run of other settings need --force-new."""
    changed = [
        name
        for name, (expected, state) in states.items()
        if state is not None and state.fingerprint not in (None, expected)
    ]
    if changed and not force_new:
        raise InputError(
            f"synthetic part(s) {', '.join(changed)} were generated with other settings or"
            " inputs; rerun with --force-new to start them over (their cached LLM answers are"
            " kept, so unchanged requests cost nothing)"
        )


# -- merge -----------------------------------------------------------------------------------


def _streams(recipe: Recipe, out: Path, plan: Plan) -> list[PartStream]:
    return [
        *(_synthetic_stream(part, out, plan) for part in recipe.synthetic),
        *(_existing_stream(part, plan) for part in recipe.existing),
    ]


def _synthetic_stream(part: SyntheticPart, out: Path, plan: Plan) -> PartStream:
    data = synthetic_dir(out, part) / "data"

    def tables() -> Iterator[pa.Table]:
        return (plan.table(part, table) for table in tables_from_shards(data))

    return PartStream(part.name, tables, part.split)


def _existing_stream(part: ExistingPart, plan: Plan) -> PartStream:
    def rows() -> Iterator[dict[str, Any]]:
        if isinstance(part, CaptionsPart):
            return caption_rows(plan.part_clips(part), part.max_per_clip)
        return existing_rows(part)

    def tables() -> Iterator[pa.Table]:
        return tables_from_rows(plan.rows(part, rows()), schema=KEYED_SCHEMA)

    return PartStream(part.name, tables, part.split)


# -- summary ---------------------------------------------------------------------------------


def _stamp(inputs: dict[str, Any], versions: dict[str, tuple[str, int]]) -> str:
    """What the merged output depends on: the plan's inputs (the recipe less its generation
    settings, the files) and each synthetic part's fingerprint and records version. A moved
    endpoint or another concurrency changes neither, so it merges nothing again."""
    blob = json.dumps([inputs["stamp"], versions], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _summary(
    recipe: Recipe,
    plan: Plan,
    stats: MergeStats,
    runs: dict[str, RunResult],
    configs: dict[str, GenerateConfig],
    stamp: str,
) -> dict[str, Any]:
    targets = {part.name: part.target for part in (*recipe.synthetic, *recipe.existing)}
    counts = RunCounts(duplicates_removed=0)  # the synthetic parts' counts, summed
    for run in runs.values():
        counts += run.counts
    dropped: Counter[str] = Counter()
    for (_, reason), rows in plan.dropped_rows.items():
        dropped[reason] += rows
    return {
        "reasonaqa_version": __version__,
        "recipe": recipe.name,
        "model": ", ".join(sorted({_model_of(run) for run in runs.values()})) or None,
        "generation": _generation(configs),
        "counts": counts.to_json(),
        "recipe_settings": json.loads(recipe.model_dump_json()),
        "splits": {split: sum(sources.values()) for split, sources in sorted(stats.rows.items())},
        "sources": {split: dict(sorted(sources.items())) for split, sources in stats.rows.items()},
        "parts": {
            name: {"rows": stats.parts.get(name, 0), "target": target}
            for name, target in targets.items()
        },
        "synthetic": {
            name: {
                "run": str(run.run_dir),
                "exit_code": run.exit_code,
                "counts": run.counts.to_json(),
            }
            for name, run in runs.items()
        },
        "clips": stats.clips,
        "identity": plan.report["identity"],
        "dropped_rows": dict(sorted(dropped.items())),
        "dropped_rows_by_part": {
            f"{part}:{reason}": rows for (part, reason), rows in sorted(plan.dropped_rows.items())
        },
        "decontaminated_rows": dropped.get("decontaminate", 0),
        "clips_without_audio": (
            plan.guard.missing_audio if recipe.audio_root is not None else None
        ),
        "plan": {key: plan.report[key] for key in ("leaks", "excluded", "name_reuse", "policy")},
        "stamp": stamp,
    }


def _generation(configs: dict[str, GenerateConfig]) -> dict[str, Any] | None:
    """The generation settings every synthetic part shares (the card shows them)."""
    if not configs:
        return None
    config = next(iter(configs.values()))
    return {
        "backend": config.backend,
        "model": config.model,
        "variant": config.variant,
        "temperature": config.sampling.temperature,
        "top_p": config.sampling.top_p,
        "max_tokens": config.sampling.max_tokens,
        "seed": config.seed,
        "grounding": config.grounding_enabled,
        "audio_votes": config.audio_votes,
        "parts": {
            name: {"tasks": list(c.tasks), "per_caption": c.per_caption, "limit": c.limit}
            for name, c in configs.items()
        },
    }


def _model_of(run: RunResult) -> str:
    """The model a synthetic part ran with, as its own run.json records it."""
    info = _read_json(RunPaths(run.run_dir).run_manifest)
    return str(info.get("model") or info.get("backend") or "unknown")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _write_json(path: Path, value: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")
