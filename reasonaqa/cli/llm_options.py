"""The LLM options that ``generate`` and ``check --llm`` share, declared once.

Each is an annotated type for a typer parameter; ``llm_settings`` turns their values into
``LLMSettings``. Defaults come from the config models: one source for every default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from reasonaqa.config import LLMSettings, VllmOptions, defaults
from reasonaqa.errors import InputError

LLM_DEFAULTS, VLLM_DEFAULTS = defaults(LLMSettings), defaults(VllmOptions)

Backend = Annotated[str, typer.Option(help="embedded | openai | vllm")]
Model = Annotated[str | None, typer.Option(help="model name, HF folder or GGUF path")]
BaseUrl = Annotated[
    str | None, typer.Option(help="OpenAI-compatible URL, e.g. http://host:8000/v1")
]
Seed = Annotated[int, typer.Option(help="run seed; per-record seeds derive from it")]
Prompts = Annotated[Path, typer.Option(help="folder of Jinja templates")]
Grounding = Annotated[
    bool | None,
    typer.Option(
        "--grounding/--no-grounding",
        help="second-pass grounding check (default: on, off for embedded)",
    ),
]
AudioVotes = Annotated[int, typer.Option(help="no-caption votes per MCQ (0 turns it off)")]
Concurrency = Annotated[
    int | None, typer.Option(help="most requests in flight [default: 16; 256 with vllm]")
]
Timeout = Annotated[float, typer.Option(help="seconds per request")]
TensorParallelSize = Annotated[int, typer.Option(help="vllm: GPUs per model")]
GpuMemoryUtilization = Annotated[float, typer.Option(help="vllm: share of GPU memory")]
MaxModelLen = Annotated[int | None, typer.Option(help="vllm: context length")]


def llm_settings(
    *,
    backend: str,
    model: str | None,
    base_url: str | None,
    seed: int,
    prompts: Path,
    grounding: bool | None,
    audio_votes: int,
    concurrency: int | None,
    timeout: float,
    tensor_parallel_size: int,
    gpu_memory_utilization: float,
    max_model_len: int | None,
) -> dict[str, Any]:
    """The ``LLMSettings`` fields from the shared options, for a config model to validate."""
    return {
        "backend": backend,
        "model": model,
        "base_url": base_url,
        "seed": seed,
        "prompts_dir": prompts,
        "grounding": grounding,
        "audio_votes": audio_votes,
        "concurrency": concurrency,
        "timeout_s": timeout,
        "vllm": {
            "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "max_model_len": max_model_len,
        },
    }


def bad_option(err: ValueError) -> InputError:
    """A config validation error as one line naming the option."""
    errors = getattr(err, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return InputError(f"bad option: {where + ': ' if where else ''}{first['msg']}")
    return InputError(f"bad option: {err}")
