"""The build recipe: which sources make up a dataset, in which splits, with what generation.

A recipe is YAML. Relative paths in it are resolved against the recipe file's folder, so a
recipe and its data travel together. Output splits are ``train``, ``val`` and ``test``;
source split names (Clotho's development/validation/evaluation) map onto them, which keeps
the source datasets' own splits. See ``recipes/sample.yaml`` for a commented example.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reasonaqa.config import DEFAULT_SHARD_ROWS, BackendName, SamplingConfig, VllmOptions
from reasonaqa.errors import InputError
from reasonaqa.schemas import Dataset

SplitName = Literal["train", "val", "test"]
PartName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Generation(_Strict):
    """Settings shared by every synthetic part; unset ones keep ``GenerateConfig``'s defaults."""

    backend: BackendName = "embedded"
    model: str | None = None
    base_url: str | None = None
    variant: Literal["plain", "expert"] | None = None
    sampling: SamplingConfig | None = None
    grounding: bool | None = None
    audio_votes: int | None = Field(None, ge=0)
    concurrency: int | None = Field(None, ge=1)
    timeout_s: float | None = Field(None, gt=0)
    max_attempts: int | None = Field(None, ge=1)
    vllm: VllmOptions | None = None


# The layout of Mellow's released audio (SPEC.md §1): AudioCapsLarger/test/Y<id>.wav and
# ClothoV21/evaluation/<name>, by source split folder.
LAYOUT_FIELDS: dict[str, tuple[str, ...]] = {
    "audiocaps": ("folder", "split", "youtube_id", "start_time"),
    "clotho": ("folder", "split", "file_name"),
}


class AudioLayout(_Strict):
    """Where each clip's audio file lies under the audio root: one pattern per dataset.

    Placeholders: ``{folder}`` (the source split folder: AudioCaps train/val/test, Clotho
    development/validation/evaluation), ``{split}`` (train/val/test), ``{youtube_id}`` and
    ``{start_time}`` (AudioCaps), ``{file_name}`` (Clotho, as its caption CSV spells it).
    Every row of a build gets its paths from here, so one ``--audio-root`` serves the build
    folder, the Mellow export and the Hugging Face export.
    """

    audiocaps: str = "AudioCapsLarger/{folder}/Y{youtube_id}.wav"
    clotho: str = "ClothoV21/{folder}/{file_name}"

    @model_validator(mode="after")
    def _patterns(self) -> AudioLayout:
        for dataset, needed in (("audiocaps", "youtube_id"), ("clotho", "file_name")):
            pattern = getattr(self, dataset)
            known = LAYOUT_FIELDS[dataset]
            try:
                names = {n for _, n, _, _ in string.Formatter().parse(pattern) if n is not None}
                pattern.format(**dict.fromkeys(known, "x"))
            except (ValueError, KeyError, IndexError) as err:
                raise ValueError(f"{dataset}: {pattern!r}: {err}") from None
            allowed = ", ".join("{" + n + "}" for n in known)
            if not names <= set(known):
                raise ValueError(f"{dataset}: {pattern!r}: use only {allowed}")
            if needed not in names:
                raise ValueError(f"{dataset}: {pattern!r} must contain {{{needed}}}")
            if pattern.startswith("/") or ".." in pattern.split("/"):
                raise ValueError(f"{dataset}: {pattern!r} must be a relative path without '..'")
        # Clotho reuses file names across split folders for different recordings.
        if not {"folder", "split"} & {n for _, n, _, _ in string.Formatter().parse(self.clotho)}:
            raise ValueError(
                f"clotho: {self.clotho!r} must contain {{folder}} or {{split}}: Clotho v2.1 uses"
                " four file names in two split folders for different recordings"
            )
        return self


class Exclusion(_Strict):
    """Clips to leave out of the build: a clip id or audio name, in one split or all of them.

    ``clip`` matches a clip's id (YouTube id, Clotho file name), its audio file name with or
    without the extension (``Y<id>``, ``Y<id>.wav``), ``<folder>/<file name>`` (one Clotho
    split folder only) or its identity key (``clotho:validation/<name>``), after whitespace
    normalisation. A plain string is ``{clip: ...}``.
    """

    clip: str = Field(min_length=1)
    split: SplitName | None = Field(None, description="only from this split; all when unset")

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return {"clip": data} if isinstance(data, str) else data


class _ClipsPart(_Strict):
    """A part read from caption clips: a manifest (splits taken from it) or caption CSVs."""

    name: PartName
    manifest: Path | None = None
    dataset: Dataset | None = None
    csv: list[Path] = Field(default_factory=list)
    split: SplitName | None = Field(None, description="with csv only: the split they hold")
    target: int | None = Field(None, ge=0, description="expected rows, reported after the build")

    @model_validator(mode="after")
    def _one_source(self) -> _ClipsPart:
        if (self.manifest is None) == (not self.csv):
            raise ValueError("give either manifest, or dataset + csv + split")
        if self.csv and (self.dataset is None or self.split is None):
            raise ValueError("csv needs dataset and split")
        if self.manifest is not None and (self.dataset or self.split):
            raise ValueError("a manifest names its own dataset and splits")
        return self


class SyntheticPart(_ClipsPart):
    """LLM-written QA from the clips' captions, run through ``reasonaqa generate``."""

    tasks: list[Literal["mcq", "detail"]] = Field(default_factory=lambda: ["mcq", "detail"])
    per_caption: int = Field(1, ge=1)
    limit: int | None = Field(None, ge=1)


class CaptionsPart(_ClipsPart):
    format: Literal["captions"]
    max_per_clip: int | None = Field(None, ge=1)


class _FilePart(_Strict):
    name: PartName
    path: list[Path] = Field(min_length=1)
    split: SplitName
    target: int | None = Field(None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _path_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("path"), str):
            return {**data, "path": [data["path"]]}
        return data


class ClothoAqaPart(_FilePart):
    format: Literal["clotho_aqa"]
    min_agreement: float = Field(0.0, ge=0, le=1)


class EntailmentPart(_FilePart):
    format: Literal["entailment"]


class AdiffPart(_FilePart):
    format: Literal["adiff"]


ExistingPart = Annotated[
    CaptionsPart | ClothoAqaPart | EntailmentPart | AdiffPart, Field(discriminator="format")
]


class Recipe(_Strict):
    name: PartName
    seed: int = 0
    generation: Generation = Field(default_factory=Generation)
    synthetic: list[SyntheticPart] = Field(default_factory=list)
    existing: list[ExistingPart] = Field(default_factory=list)
    audio_root: Path | None = Field(None, description="enables the audio content-hash check")
    audio_layout: AudioLayout = Field(default_factory=AudioLayout)
    decontaminate: Path | None = Field(None, description="clip ids to keep out of train")
    exclude: list[Exclusion] = Field(default_factory=list)
    split_leaks: Literal["fail", "drop"] = Field(
        "fail", description="fail: stop, listing every leak; drop: keep each in one split"
    )
    split_leaks_keep: SplitName = Field(
        "test",
        description="with drop: the split a leaking clip stays in when it is there; otherwise"
        " the first of test, val, train that has it",
    )
    shard_rows: int = Field(DEFAULT_SHARD_ROWS, ge=1)

    @model_validator(mode="after")
    def _unique_names(self) -> Recipe:
        names = [part.name for part in (*self.synthetic, *self.existing)]
        if not names:
            raise ValueError("a recipe needs at least one synthetic or existing part")
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"part names must be unique: {repeated}")
        return self

    def with_generation(self, **overrides: Any) -> Recipe:
        """A copy whose generation settings take the given non-None values (CLI overrides)."""
        values = {key: value for key, value in overrides.items() if value is not None}
        generation = Generation.model_validate({**self.generation.model_dump(), **values})
        return self.model_copy(update={"generation": generation})

    def resolve(self, folder: Path) -> Recipe:
        """A copy with every relative path made absolute against ``folder``."""
        return Recipe.model_validate(_resolve_paths(self.model_dump(), folder))


def _resolve_paths(value: Any, folder: Path) -> Any:
    if isinstance(value, Path):
        return value if value.is_absolute() else (folder / value).resolve()
    if isinstance(value, dict):
        return {key: _resolve_paths(item, folder) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve_paths(item, folder) for item in value]
    return value


def load_recipe(path: Path) -> Recipe:
    """Read and validate a recipe; a bad one raises ``InputError`` naming file and field."""
    path = Path(path)
    if not path.is_file():
        raise InputError("recipe not found", file=path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise InputError(
            f"not valid YAML: {getattr(err, 'problem', err)}", file=path, row=row
        ) from None
    if not isinstance(data, dict):
        raise InputError("a recipe is a YAML mapping of settings", file=path)
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InputError(first["msg"], file=path, field=where) from None
    recipe = recipe.resolve(path.resolve().parent)
    _check_files(recipe, path)
    return recipe


def _check_files(recipe: Recipe, path: Path) -> None:
    """Missing inputs fail now, not after hours of generation."""
    for group in ("synthetic", "existing"):
        for index, part in enumerate(getattr(recipe, group)):
            for name in ("manifest", "csv", "path"):
                value = getattr(part, name, None)
                for file in value if isinstance(value, list) else [value]:
                    if file is not None and not file.is_file():
                        where = f"{group}.{index}.{name}"
                        raise InputError(f"no such file: {file}", file=path, field=where)
    if recipe.decontaminate is not None and not recipe.decontaminate.is_file():
        raise InputError(f"no such file: {recipe.decontaminate}", file=path, field="decontaminate")
    if recipe.audio_root is not None and not recipe.audio_root.is_dir():
        raise InputError(f"no such folder: {recipe.audio_root}", file=path, field="audio_root")
