"""The build's plan: every source read, every clip identified and split-checked, before the
first LLM request.

1. Caption clips (the synthetic parts' and captioning parts' CSVs or manifests) make the
   ``Catalog``: each clip by identity (``sources.identity``), as its caption CSV spells it.
2. Every row of every other existing part (ClothoAQA, entailment, ADIFF) is resolved to a
   caption clip: same dataset, same split folder (the one its audio path names, else its
   part's) and the same name after whitespace normalisation; an AudioCaps id found only in
   another split folder with one start time is that clip too. Rows matched only after
   normalisation, and rows that match no caption clip, are counted and listed.
3. ``SplitGuard`` sees every clip with its split and part; the recipe's ``exclude`` (and
   ``decontaminate``, from train) are applied, then every remaining leak either stops the
   build (``split_leaks: fail``) or is kept in one split and dropped from the others
   (``split_leaks: drop``). The decisions go to ``_plan.json``, ``_run.json`` and the card.
4. Every row then takes its clip's canonical id and its audio path from the recipe's
   ``audio_layout``, and rows of dropped clips are left out, in the synthetic parts' manifests
   (so no request is made for them) and in the merge.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from reasonaqa.dataset.importers.adiff import read_adiff
from reasonaqa.dataset.importers.clotho_aqa import read_clotho_aqa
from reasonaqa.dataset.importers.entailment import read_entailment
from reasonaqa.dataset.recipe import (
    AdiffPart,
    CaptionsPart,
    ClothoAqaPart,
    EntailmentPart,
    ExistingPart,
    Recipe,
    SyntheticPart,
)
from reasonaqa.dataset.splits import CLIP_SLOTS, KEY_COLUMNS, Leak, SplitGuard, read_clip_list
from reasonaqa.errors import InputError
from reasonaqa.schemas import Clip
from reasonaqa.sources.identity import (
    KNOWN_CLOTHO_NAME_REUSE,
    clip_identity,
    clip_key,
    normalise_name,
    output_split,
    path_folder,
    source_folder,
)
from reasonaqa.sources.manifests import build_manifest, read_manifest

LEAK_KEEP_ORDER = ("test", "val", "train")  # evaluation splits keep a leaking clip first
ClipsPart = SyntheticPart | CaptionsPart


@dataclass(frozen=True, slots=True)
class Resolution:
    """Which clip a name stands for: its identity key and how to name its audio."""

    key: str
    dataset: str
    folder: str
    name: str  # as the caption CSV spells it; else as first seen, without outer blanks
    start: float | None
    matched: bool  # a caption clip of this build has it


class Catalog:
    """The caption clips of a build by identity, and the resolution of other names to them."""

    def __init__(self) -> None:
        self.clips: dict[str, Resolution] = {}
        self._youtube: dict[str, list[Resolution]] = {}
        self._cache: dict[tuple[str, str, str], Resolution] = {}
        self._spellings: dict[str, str] = {}  # key of a clip no caption file has -> its name

    def add(self, clip: Clip) -> Resolution:
        key = clip_identity(clip)
        known = self.clips.get(key)
        if known is not None:
            return known
        folder = source_folder(clip.dataset, clip.split)
        found = Resolution(key, clip.dataset, folder, clip.clip_id, clip.start_time, True)
        self.clips[key] = found
        if clip.dataset == "audiocaps":
            self._youtube.setdefault(normalise_name(clip.clip_id), []).append(found)
        return found

    def resolve(self, dataset: str, raw: str, folder: str) -> Resolution:
        """The clip ``raw`` (an id or file name, as a source spells it) in ``folder`` is."""
        cache_key = (dataset, raw, folder)
        known = self._cache.get(cache_key)
        if known is not None:
            return known
        name = normalise_name(raw)
        if dataset == "audiocaps":
            found = self._audiocaps(name, folder)
        else:
            found = self.clips.get(clip_key(dataset, folder, name))
        if found is None:
            # Inner blanks can be real (Clotho has "Kitchen sink  open tap and washing.wav"),
            # outer ones are not: the first spelling seen, stripped, names the clip's file.
            key = clip_key(dataset, folder, name)
            spelled = self._spellings.setdefault(key, raw.strip())
            found = Resolution(key, dataset, folder, spelled, None, False)
        self._cache[cache_key] = found
        return found

    def _audiocaps(self, youtube_id: str, folder: str) -> Resolution | None:
        """The caption clip of a YouTube id: the one in ``folder``, else the only segment."""
        candidates = self._youtube.get(youtube_id, [])
        for candidate in candidates:
            if candidate.folder == folder:
                return candidate
        if candidates and len({candidate.start for candidate in candidates}) == 1:
            return candidates[0]
        return None

    def folders_of(self, dataset: str, name: str) -> list[str]:
        """The split folders whose caption clips have this name (for unmatched rows)."""
        wanted = normalise_name(name)
        return sorted(
            r.folder
            for r in self.clips.values()
            if r.dataset == dataset and normalise_name(r.name) == wanted
        )


@dataclass
class Plan:
    """What the build will contain, decided before generation; see the module docstring."""

    recipe: Recipe
    catalog: Catalog = field(default_factory=Catalog)
    guard: SplitGuard = field(default_factory=SplitGuard)
    clips: dict[str, list[Clip]] = field(default_factory=dict)  # clip part -> its clips
    seen: dict[str, Resolution] = field(default_factory=dict)  # every clip, caption or not
    dropped: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> split -> reason
    report: dict[str, Any] = field(default_factory=dict)
    dropped_rows: Counter[tuple[str, str]] = field(default_factory=Counter)  # (part, reason)
    # (part, dataset, spelled, canonical, folder, caption clip?) -> rows
    normalised: Counter[tuple[str, str, str, str, str, bool]] = field(default_factory=Counter)
    unmatched: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)  # -> rows

    # -- rows of the build ------------------------------------------------------------------

    def part_clips(self, part: ClipsPart) -> list[Clip]:
        """The part's clips without those the plan drops from their split."""
        return [clip for clip in self.clips[part.name] if not self._clip_dropped(clip)]

    def rows(self, part: ExistingPart, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Importer or captioning rows with canonical clip ids, layout paths and identity keys
        (``KEY_COLUMNS``); rows of dropped clips are left out and counted."""
        for row in rows:
            split = output_split(row["split"]) or row["split"]
            reason = None
            for slot, (id_column, path_column) in enumerate(CLIP_SLOTS):
                if row[id_column] is None:
                    continue
                found = self.resolve_row(row["dataset"], row, slot)
                row[id_column] = found.name
                row[path_column] = self.audio_path(found, split)
                row[KEY_COLUMNS[slot]] = found.key
                reason = reason or self.dropped_reason(found.key, split)
            if reason is not None:
                self.dropped_rows[(part.name, reason)] += 1
                continue
            yield row

    def table(self, part: SyntheticPart, table: pa.Table) -> pa.Table:
        """A synthetic part's shard batch with canonical clip ids, layout paths and keys."""
        if table.num_rows == 0:
            return table.append_column(KEY_COLUMNS[0], pa.nulls(0, pa.string())).append_column(
                KEY_COLUMNS[1], pa.nulls(0, pa.string())
            )
        paths = pc.fill_null(table["audio_path"], "")
        combos = pc.binary_join_element_wise(
            table["dataset"], table["split"], table["clip_id"], paths, "\x1f"
        )
        distinct = pc.unique(combos)
        keys, names, layout, drop, reasons = [], [], [], [], []
        for combo in distinct.to_pylist():
            dataset, split, clip_id, audio_path = combo.split("\x1f")
            found = self._resolve(dataset, clip_id, audio_path, split)
            out_split = part.split or output_split(split) or split
            reason = self.dropped_reason(found.key, out_split)
            keys.append(found.key)
            names.append(found.name)
            layout.append(self.audio_path(found, out_split))
            drop.append(reason is not None)
            reasons.append(reason)
        index = pc.index_in(combos, value_set=distinct)
        for column, values in (("clip_id", names), ("audio_path", layout)):
            position = table.schema.get_field_index(column)
            table = table.set_column(position, column, pa.array(values).take(index))
        table = table.append_column(KEY_COLUMNS[0], pa.array(keys, pa.string()).take(index))
        table = table.append_column(KEY_COLUMNS[1], pa.nulls(table.num_rows, pa.string()))
        dropped = pa.array(drop).take(index)
        for reason, count in Counter(
            reasons[i] for i in pc.filter(index, dropped).to_pylist()
        ).items():
            self.dropped_rows[(part.name, reason)] += count
        return table.filter(pc.invert(dropped))

    def audio_path(self, found: Resolution, split: str) -> str:
        """The clip's audio path under the audio root, by the recipe's ``audio_layout``."""
        layout = self.recipe.audio_layout
        if found.dataset == "audiocaps":
            start = "" if found.start is None else f"{found.start:g}"
            path = layout.audiocaps.format(
                folder=found.folder, split=split, youtube_id=found.name, start_time=start
            )
        else:
            path = layout.clotho.format(folder=found.folder, split=split, file_name=found.name)
        if path.startswith("/") or ".." in path.split("/"):
            raise InputError(f"audio path {path!r} of clip {found.key} would leave the audio root")
        return path

    # -- resolution --------------------------------------------------------------------------

    def resolve_row(self, dataset: str, row: dict[str, Any], slot: int) -> Resolution:
        id_column, path_column = CLIP_SLOTS[slot]
        return self._resolve(dataset, row[id_column], row[path_column] or "", row["split"])

    def _resolve(self, dataset: str, clip_id: str, audio_path: str, split: str) -> Resolution:
        folder = path_folder(audio_path) or source_folder(dataset, split)
        return self.catalog.resolve(dataset, clip_id, folder)

    def _clip_dropped(self, clip: Clip) -> bool:
        split = output_split(clip.split) or clip.split
        return self.dropped_reason(clip_identity(clip), split) is not None

    def dropped_reason(self, key: str, split: str) -> str | None:
        """Why the plan leaves clip ``key`` out of ``split`` (exclude, split_leak...), if so."""
        return self.dropped.get(key, {}).get(split)


def make_plan(recipe: Recipe, inputs: dict[str, Any]) -> Plan:
    """Read every source of the recipe, identify and split-check every clip, decide drops.

    Leaks under ``split_leaks: fail`` are decided ``fail`` in ``plan.report`` (see
    ``failing_leaks``); the caller stops on them. ``inputs`` goes into the report as is.
    """
    plan = Plan(recipe, guard=SplitGuard(recipe.audio_root))
    cache: dict[tuple[Any, ...], list[Clip]] = {}
    for part in (*recipe.synthetic, *recipe.existing):
        if isinstance(part, SyntheticPart | CaptionsPart):
            plan.clips[part.name] = _cached_clips(part, cache)
            _add_clips(plan, part)
    for part in recipe.existing:
        if not isinstance(part, CaptionsPart):
            _place_rows(plan, part)
    excluded = _exclusions(plan)
    leaks = _leaks(plan)
    plan.report = _report(plan, inputs, excluded, leaks)
    return plan


def _cached_clips(part: ClipsPart, cache: dict[tuple[Any, ...], list[Clip]]) -> list[Clip]:
    """A part's clips; parts reading the same CSVs (one per task, say) share one read."""
    if part.manifest is not None:
        source: tuple[Any, ...] = ("manifest", part.manifest)
    else:
        source = ("csv", part.dataset, tuple(part.csv), part.split)
    if source not in cache:
        cache[source] = list(clips_of(part))
    return cache[source]


def clips_of(part: ClipsPart) -> Iterator[Clip]:
    if part.manifest is not None:
        return read_manifest(part.manifest)
    assert part.dataset is not None and part.split is not None  # checked by the recipe model
    return iter(build_manifest(part.dataset, part.csv, part.split))


def existing_rows(part: ExistingPart) -> Iterator[dict[str, Any]]:
    """The rows of a non-captioning existing part, straight from its importer."""
    if isinstance(part, ClothoAqaPart):
        return _chain(read_clotho_aqa(path, part.split, part.min_agreement) for path in part.path)
    if isinstance(part, EntailmentPart):
        return _chain(read_entailment(path, part.split) for path in part.path)
    if isinstance(part, AdiffPart):
        return _chain(read_adiff(path, part.split) for path in part.path)
    raise TypeError(f"not an imported part: {part!r}")


def _chain(iterators: Iterator[Iterator[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    return itertools.chain.from_iterable(iterators)


def _add_clips(plan: Plan, part: ClipsPart) -> None:
    for clip in plan.clips[part.name]:
        split = part.split or output_split(clip.split)
        if split is None:
            raise InputError(
                f"part {part.name!r}: clip {clip.clip_id!r} has split {clip.split!r}, neither"
                " train/val/test nor a source split that maps onto them (development...)",
                file=part.manifest,
                field="split",
            )
        found = plan.catalog.add(clip)
        plan.seen[found.key] = found
        plan.guard.place(found.key, split, part.name, plan.audio_path(found, split))


def _place_rows(plan: Plan, part: ExistingPart) -> None:
    """Resolve every row of an imported part; count normalised and unmatched names."""
    placed: set[tuple[str, str]] = set()
    for row in existing_rows(part):
        for slot, (id_column, _) in enumerate(CLIP_SLOTS):
            raw = row[id_column]
            if raw is None:
                continue
            found = plan.resolve_row(row["dataset"], row, slot)
            plan.seen[found.key] = found
            if raw != found.name:
                plan.normalised[
                    (part.name, found.dataset, raw, found.name, found.folder, found.matched)
                ] += 1
            if not found.matched:
                plan.unmatched[(part.name, found.dataset, found.name, found.folder)] += 1
            if (found.key, part.split) not in placed:
                placed.add((found.key, part.split))
                plan.guard.place(
                    found.key, part.split, part.name, plan.audio_path(found, part.split)
                )


def _aliases(found: Resolution) -> set[str]:
    """What an exclusion entry may call a clip (see ``recipe.Exclusion``)."""
    name = normalise_name(found.name)
    names = {found.key, name, name.rsplit(".", 1)[0]}
    if found.dataset == "audiocaps":
        names |= {f"Y{name}", f"Y{name}.wav"}
    else:
        names.add(f"{found.folder}/{name}")
    return names


def _exclusions(plan: Plan) -> list[dict[str, Any]]:
    """Apply ``exclude`` (any split) and ``decontaminate`` (train) to the plan's clips."""
    recipe = plan.recipe
    entries: list[tuple[str, str | None, str]] = [
        (normalise_name(e.clip), e.split, "exclude") for e in recipe.exclude
    ]
    if recipe.decontaminate is not None:
        entries += [
            (normalise_name(clip), "train", "decontaminate")
            for clip in sorted(read_clip_list(recipe.decontaminate))
        ]
    wanted: dict[str, list[int]] = {}
    for index, (clip, _, _) in enumerate(entries):
        wanted.setdefault(clip, []).append(index)
    matched: dict[int, list[str]] = {index: [] for index in range(len(entries))}
    for key, found in plan.seen.items():
        for alias in _aliases(found) & wanted.keys():
            for index in wanted[alias]:
                _, split, reason = entries[index]
                homes = plan.guard.homes.get(key, {})
                if split is not None and split not in homes:
                    continue
                matched[index].append(key)
                for home in homes if split is None else [split]:
                    plan.dropped.setdefault(key, {}).setdefault(home, reason)
    return [
        {"clip": clip, "split": split or "all", "from": reason, "clips": sorted(matched[index])}
        for index, (clip, split, reason) in enumerate(entries)
        if reason == "exclude" or matched[index]
    ]


def _leaks(plan: Plan) -> list[dict[str, Any]]:
    """Every leak left after exclusions, with the recipe's decision for it."""
    recipe = plan.recipe
    decided = []
    for leak in plan.guard.leaks():
        splits = [s for s in leak.homes if plan.dropped_reason(leak.key, s) is None]
        if leak.by == "clip identity" and len(splits) < 2:
            continue  # exclusions already keep it in one split
        entry = leak.as_json()
        if recipe.split_leaks == "drop":
            keep = _kept_split(splits, recipe.split_leaks_keep)
            dropped_from = [s for s in splits if s != keep]
            for split in dropped_from:
                plan.dropped.setdefault(leak.key, {})[split] = "split_leak"
            entry |= {"decision": f"kept in {keep}", "dropped_from": dropped_from}
        else:
            entry |= {"decision": "fail"}
        decided.append(entry)
    return decided


def _kept_split(splits: list[str], preferred: str) -> str:
    if preferred in splits:
        return preferred
    return next(s for s in (*LEAK_KEEP_ORDER, *sorted(splits)) if s in splits)


def failing_leaks(report: dict[str, Any]) -> list[Leak]:
    """The leaks of a plan report that stop the build (``split_leaks: fail``)."""
    return [
        Leak(entry["clip"], entry["splits"], entry["by"])
        for entry in report["leaks"]
        if entry["decision"] == "fail"
    ]


def _name_reuse(plan: Plan) -> list[dict[str, Any]]:
    """Clotho names in more than one split folder: different recordings, not leaks."""
    folders: dict[str, set[str]] = {}
    for found in plan.seen.values():
        if found.dataset == "clotho":
            folders.setdefault(normalise_name(found.name), set()).add(found.folder)
    return [
        {"name": name, "folders": sorted(places), "known": name in KNOWN_CLOTHO_NAME_REUSE}
        for name, places in sorted(folders.items())
        if len(places) > 1
    ]


def _report(
    plan: Plan, inputs: dict[str, Any], excluded: list[dict[str, Any]], leaks: list[dict[str, Any]]
) -> dict[str, Any]:
    recipe = plan.recipe
    caption_clips = Counter(found.dataset for found in plan.catalog.clips.values())
    normalised = [
        {
            "part": part,
            "dataset": dataset,
            "spelled": raw,
            "canonical": name,
            "folder": folder,
            "caption_clip": matched,
            "rows": rows,
        }
        for (part, dataset, raw, name, folder, matched), rows in sorted(plan.normalised.items())
    ]
    unmatched = [
        {
            "part": part,
            "dataset": dataset,
            "clip": name,
            "folder": folder,
            "rows": rows,
            "caption_clip_in": [f for f in plan.catalog.folders_of(dataset, name) if f != folder],
        }
        for (part, dataset, name, folder), rows in sorted(plan.unmatched.items())
    ]
    return {
        "inputs": inputs,
        "policy": {
            "split_leaks": recipe.split_leaks,
            "split_leaks_keep": recipe.split_leaks_keep,
            "audio_layout": recipe.audio_layout.model_dump(),
        },
        "caption_clips": dict(sorted(caption_clips.items())),
        "clips": len(plan.seen),
        "identity": {
            "normalised_rows": sum(plan.normalised.values()),
            "normalised_names": len(normalised),
            "unmatched_rows": sum(plan.unmatched.values()),
            "unmatched_clips": len({(e["dataset"], e["clip"], e["folder"]) for e in unmatched}),
            "unmatched_rows_by_part": _by_part(plan.unmatched),
        },
        "normalised_matches": normalised,
        "unmatched": unmatched,
        "name_reuse": _name_reuse(plan),
        "leaks": leaks,
        "excluded": excluded,
    }


def _by_part(counts: Counter[tuple[str, ...]]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for key, rows in counts.items():
        totals[key[0]] += rows
    return dict(sorted(totals.items()))


def part_files(recipe: Recipe) -> list[Path]:
    """Every source file the recipe reads, in recipe order, each once."""
    files: list[Path] = []
    for part in (*recipe.synthetic, *recipe.existing):
        for name in ("manifest", "csv", "path"):
            value = getattr(part, name, None)
            for file in value if isinstance(value, list) else [value]:
                if file is not None and file not in files:
                    files.append(file)
    if recipe.decontaminate is not None:
        files.append(recipe.decontaminate)
    return files
