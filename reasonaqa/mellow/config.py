"""Settings of a Mellow training or evaluation run, read from YAML with dotted overrides.

``default.yaml`` beside this file holds the reference recipe (SPEC.md §3); a user's YAML
and ``--set section.key=value`` overrides are laid over it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reasonaqa.errors import InputError

DEFAULT_CONFIG = Path(__file__).with_name("default.yaml")

# HTSAT turns at most 1024 STFT frames into its 256x256 input: 10.2 s at 32 kHz, hop 320.
MAX_CLIP_SECONDS = 10.2


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    """Where the rows and the audio are, and how a row becomes a token sequence."""

    train: list[Path] = Field(default_factory=list, description="shard folders/files or JSON")
    eval: list[Path] = Field(default_factory=list)
    audio_root: Path = Path()
    train_split: str | None = "train"
    eval_split: str | None = "test"
    sample_rate: int = Field(32_000, gt=0)
    clip_seconds: float = Field(10.0, gt=0, le=MAX_CLIP_SECONDS)
    prompt_tokens: int = Field(129, ge=2)  # the text, then end-of-text
    answer_tokens: int = Field(250, ge=1)
    # Slot 2 of a single-audio row: "random" is the reference (another clip of the set).
    second_audio: Literal["random", "silence", "same"] = "random"
    permute_options: bool = False
    lowercase: bool = True  # the reference lowercases prompts and answers
    num_workers: int = Field(0, ge=0)


class ModelConfig(_Strict):
    """Which Mellow to build and which weights to start from."""

    size: Literal["full", "tiny"] = "full"
    # "gguf": the bundled SmolLM2-135M-Instruct; "random": SmolLM2-135M shape, random
    # weights; "tiny": a small random Llama for tests; anything else: a local HF folder.
    language_model: str = "gguf"
    htsat_checkpoint: Path | None = None
    init_checkpoint: Path | None = None
    trust_checkpoints: bool = False  # allow full pickle loading of checkpoint files
    freeze_audio_encoder: bool = True
    projection_dropout: float = Field(0.5, ge=0, lt=1)


class OptimConfig(_Strict):
    name: Literal["adam", "adamw"] = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    warmup_steps: int = Field(10_000, ge=0)
    max_grad_norm: float | None = Field(0.5, gt=0)


class TrainConfig(_Strict):
    batch_size: int = Field(4, ge=1, description="per device")
    grad_accum: int = Field(1, ge=1)
    epochs: int = Field(10, ge=1)
    max_steps: int | None = Field(None, ge=1, description="optimizer steps; overrides epochs")
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # auto: bf16 autocast on GPU only
    save_every: int = Field(1000, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    log_every: int = Field(10, ge=1)
    resume: bool = True
    progress: bool = True


class EvalConfig(_Strict):
    batch_size: int = Field(8, ge=1)
    max_new_tokens: int = Field(64, ge=1)
    limit: int | None = Field(None, ge=1)


class MellowConfig(_Strict):
    seed: int = 1234
    output: Path = Path("runs/mellow")
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    evaluate: EvalConfig = Field(default_factory=EvalConfig)


def load_config(
    path: Path | None = None, overrides: list[str] | None = None, base: Path = DEFAULT_CONFIG
) -> MellowConfig:
    """The default recipe, then the user's YAML file, then ``key.sub=value`` overrides."""
    values = _read_yaml(base)
    if path is not None:
        _merge(values, _read_yaml(path))
    for item in overrides or []:
        _merge(values, _parse_override(item))
    try:
        return MellowConfig.model_validate(values)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InputError(first["msg"], file=path or base, field=field) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    if not Path(path).is_file():
        raise InputError("config file not found", file=path)
    try:
        values = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        line = getattr(getattr(err, "problem_mark", None), "line", None)
        raise InputError(f"not valid YAML: {err}", file=path, row=line) from None
    if not isinstance(values, dict):
        raise InputError("a config file must be a YAML mapping", file=path)
    return values


def _parse_override(item: str) -> dict[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise InputError(f"override {item!r} must look like section.key=value", field=item)
    value: Any = yaml.safe_load(raw) if raw.strip() else None
    nested: dict[str, Any] = {}
    cursor = nested
    parts = key.strip().split(".")
    for part in parts[:-1]:
        cursor = cursor.setdefault(part, {})
    cursor[parts[-1]] = value
    return nested


def _merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
