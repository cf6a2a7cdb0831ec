"""Run configuration and the layout of a run folder: the bottom layer beside schemas.

A run folder holds final shards under ``data/`` and everything else under names starting
with ``_``. Parquet dataset discovery skips those names and fails on any other non-Parquet
file, so this is what lets ``pandas.read_parquet(RUN)`` load the shards and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROMPTS_DIR = REPO_ROOT / "prompts"

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


class GenerateConfig(BaseModel):
    """Everything ``reasonaqa generate`` needs; see ``FINGERPRINT_FIELDS`` for what shapes data."""

    model_config = ConfigDict(extra="forbid")

    manifest: Path
    output: Path
    backend: BackendName = "embedded"
    model: str | None = None
    base_url: str | None = None
    tasks: list[Literal["mcq", "detail"]] = Field(default_factory=lambda: ["mcq", "detail"])
    variant: Literal["plain", "expert"] = "expert"
    per_caption: int = Field(1, ge=1)
    limit: int | None = Field(None, ge=1)
    seed: int = 0
    prompts_dir: Path = DEFAULT_PROMPTS_DIR
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    grounding: bool | None = None  # None: on, except with the embedded model
    audio_votes: int = Field(3, ge=0)
    # Settings below change how fast a run goes, never what it writes.
    concurrency: int | None = Field(None, ge=1)  # None: see ``in_flight``
    timeout_s: float = Field(120.0, gt=0)
    max_attempts: int = Field(8, ge=1)
    shard_rows: int = Field(50_000, ge=1)
    vllm: VllmOptions = Field(default_factory=VllmOptions)
    force_new: bool = False
    progress: bool = True

    @property
    def in_flight(self) -> int:
        """Requests in flight: 16 for an HTTP endpoint; 256 for vLLM, whose batches need it."""
        if self.concurrency is not None:
            return self.concurrency
        return 256 if self.backend == "vllm" else 16

    @property
    def grounding_enabled(self) -> bool:
        return self.grounding if self.grounding is not None else self.backend != "embedded"


# Fields that change the data; the run fingerprint hashes these and nothing else.
FINGERPRINT_FIELDS: tuple[str, ...] = (
    "backend",
    "model",
    "tasks",
    "variant",
    "per_caption",
    "limit",
    "seed",
    "sampling",
    "grounding",
    "audio_votes",
)


@dataclass(frozen=True)
class RunPaths:
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def journal(self) -> Path:
        return self.root / "_journal.sqlite"

    @property
    def staging(self) -> Path:
        return self.root / "_staging"

    @property
    def quarantine(self) -> Path:
        return self.root / "_quarantine"

    @property
    def rejected(self) -> Path:
        return self.root / "_rejected"

    @property
    def run_manifest(self) -> Path:
        return self.root / "_run.json"

    @property
    def progress(self) -> Path:
        return self.root / "_progress.json"

    @property
    def card(self) -> Path:
        """The dataset card; ``export hf`` puts it at the root of its folder as README.md."""
        return self.root / "_card" / "README.md"

    @property
    def plots(self) -> Path:
        return self.root / "_card" / "plots"
