"""Settings of a Mellow training or evaluation run: the one place every default lives.

The field defaults below are the ``reference`` profile: the authors' public training code
(SPEC.md §3, "What the authors' training code actually does"). ``profile: fast`` lays our
deviations under whatever the user sets (see ``PROFILES``). A user's YAML and
``--set section.key=value`` overrides are laid over the defaults; ``reasonaqa train
--print-config`` writes the effective settings as YAML.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reasonaqa.errors import InputError

# HTSAT turns at most 1024 STFT frames into its 256x256 input: 10.2 s at 32 kHz, hop 320.
MAX_CLIP_SECONDS = 10.2

# Where real training expects base SmolLM2-135M (a Hugging Face folder), relative to the
# working directory; ``language_model: auto`` uses it when present.
BASE_LM_FOLDER = Path("models/SmolLM2-135M")

Profile = Literal["reference", "fast"]

# Each profile's values lie under the user's own settings. Why "fast" deviates:
# - warmup then per-step cosine: smoother start than jumping to lr 1e-3 on step one;
# - one global-norm clip at 0.5: one norm per step instead of one per tensor;
# - bf16 autocast on GPU: about twice the throughput of fp32 (unmeasured here, BENCHMARKS.md);
# - HTSAT in eval mode: no SpecAugment/DropPath, and bn0 keeps its AudioSet statistics.
PROFILES: dict[str, dict[str, Any]] = {
    "reference": {},
    "fast": {
        "optim": {"schedule": "warmup_cosine", "clip": "global"},
        "train": {"precision": "auto"},
        "model": {"audio_encoder_mode": "eval"},
    },
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    """Where the rows and the audio are, and how a row becomes a token sequence."""

    train: list[Path] = Field(default_factory=list, description="shard folders/files or JSON")
    eval: list[Path] = Field(default_factory=list)
    # Validation rows for the loss logged during training; empty: the shard folders of
    # ``train`` filtered by ``val_split`` (JSON files there are skipped).
    val: list[Path] = Field(default_factory=list)
    audio_root: Path = Path()
    train_split: str | None = "train"
    val_split: str | None = "val"
    eval_split: str | None = "test"
    sample_rate: int = Field(32_000, gt=0)
    clip_seconds: float = Field(10.0, gt=0, le=MAX_CLIP_SECONDS)
    prompt_tokens: int = Field(129, ge=3)  # the text, then 216 and end-of-text, then padding
    answer_tokens: int = Field(250, ge=3)
    # Slot 2 of a single-audio row: "random" is the reference (another clip of the set).
    second_audio: Literal["random", "silence", "same"] = "random"
    permute_options: bool = False
    # "generic": the reference (MCQ, yes/no and open rows lowercased; caption and difference
    # rows keep their case); "all" or "none" for every row.
    lowercase: Literal["generic", "all", "none"] = "generic"
    # Evaluation clips: "random" crop and zero pad as the reference (seeded per row), or
    # the "centre" crop with repeat padding.
    eval_crop: Literal["random", "centre"] = "random"
    num_workers: int = Field(0, ge=0)


class ModelConfig(_Strict):
    """Which Mellow to build and which weights to start from."""

    size: Literal["full", "tiny"] = "full"
    # "auto": base SmolLM2-135M in BASE_LM_FOLDER, else the bundled Instruct GGUF with a loud
    # warning; "gguf": that GGUF; "random"/"tiny": random weights; or a local HF folder.
    language_model: str = "auto"
    htsat_checkpoint: Path | None = None
    init_checkpoint: Path | None = None
    trust_checkpoints: bool = False  # allow full pickle loading of checkpoint files
    freeze_audio_encoder: bool = True
    # Frozen HTSAT in "train" mode (reference): SpecAugment, DropPath, bn0 batch statistics.
    audio_encoder_mode: Literal["train", "eval"] = "train"
    projection_dropout: float = Field(0.5, ge=0, lt=1)


class OptimConfig(_Strict):
    name: Literal["adam", "adamw"] = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    # "epoch_cosine": cosine over the epochs, one value per epoch, no warmup (reference);
    # "warmup_cosine": linear warmup over warmup_steps, then a per-step cosine to zero.
    schedule: Literal["epoch_cosine", "warmup_cosine"] = "epoch_cosine"
    warmup_steps: int = Field(10_000, ge=0)
    # "adaptive": per tensor, against a running average of its own norm (reference);
    # "global": one norm over all gradients, max_grad_norm; "none".
    clip: Literal["adaptive", "global", "none"] = "adaptive"
    max_grad_norm: float = Field(0.5, gt=0)
    clip_factor: float = Field(2.5, gt=1)
    clip_momentum: float = Field(0.995, ge=0, lt=1)
    clip_norm: Literal["l2", "max"] = "l2"
    clip_start: float | None = Field(None, gt=0, description="null: 0.5 for l2, 5.0 for max")


class TrainConfig(_Strict):
    batch_size: int = Field(4, ge=1, description="per device")
    grad_accum: int = Field(1, ge=1)
    epochs: int = Field(10, ge=1)
    max_steps: int | None = Field(None, ge=1, description="optimizer steps; overrides epochs")
    # "fp32" (reference); "auto": bf16 autocast on GPU, fp32 on CPU; "bf16".
    precision: Literal["auto", "fp32", "bf16"] = "fp32"
    save_every: int = Field(1000, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    log_every: int = Field(10, ge=1)
    val_every: int = Field(1000, ge=1, description="steps between validation losses")
    val_limit: int | None = Field(512, ge=1, description="validation rows per check")
    resume: bool = True
    progress: bool = True


class EvalConfig(_Strict):
    batch_size: int = Field(8, ge=1)
    max_new_tokens: int = Field(300, ge=1)
    limit: int | None = Field(None, ge=1)


class MellowConfig(_Strict):
    profile: Profile = "reference"
    seed: int = 1234
    output: Path = Path("runs/mellow")
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    evaluate: EvalConfig = Field(default_factory=EvalConfig)

    @model_validator(mode="before")
    @classmethod
    def _lay_profile_under(cls, values: Any) -> Any:
        """The profile's presets first, then every value the caller gave."""
        if not isinstance(values, dict):
            return values
        preset = PROFILES.get(str(values.get("profile", "reference")))
        if not preset:  # the reference, or an unknown name that validation reports
            return values
        merged = copy.deepcopy(preset)
        _merge(merged, values)
        return merged


def load_config(path: Path | None = None, overrides: list[str] | None = None) -> MellowConfig:
    """The defaults (and profile), then the user's YAML file, then ``key.sub=value`` overrides."""
    values: dict[str, Any] = {}
    if path is not None:
        values = _read_yaml(path)
    for item in overrides or []:
        _merge(values, _parse_override(item))
    try:
        return MellowConfig.model_validate(values)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InputError(first["msg"], file=path or "--set", field=field) from None


def config_yaml(config: MellowConfig) -> str:
    """Every setting, as YAML that ``load_config`` reads back to the same config."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


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
