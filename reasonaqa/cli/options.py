"""The settings of a run as CLI options, declared once for ``generate`` and ``preview``.

Typer reads a command's options from its signature, so ``run_options`` gives a command a
signature of its own parameters followed by these; the command receives them as keyword
arguments and turns them into a ``GenerateConfig`` with ``config.config_from_settings``.
Defaults come from the config models: one source for every default.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from reasonaqa.config import GenerateConfig, SamplingConfig, VllmOptions, defaults

F = TypeVar("F", bound=Callable[..., Any])
_G, _S, _V = defaults(GenerateConfig), defaults(SamplingConfig), defaults(VllmOptions)
_EMPTY = inspect.Parameter.empty


def _option(name: str, kind: Any, option: Any, default: Any = _EMPTY) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[kind, option], default=default
    )


RUN_OPTIONS: tuple[inspect.Parameter, ...] = (
    _option("manifest", Path, typer.Option("--manifest", "-m", help="clip manifest (JSONL)")),
    _option("output", Path, typer.Option("--output", "-o", help="run folder")),
    _option("backend", str, typer.Option(help="embedded | openai | vllm"), _G["backend"]),
    _option("model", str | None, typer.Option(help="model name, HF folder or GGUF path"), None),
    _option(
        "base_url",
        str | None,
        typer.Option(help="OpenAI-compatible URL, e.g. http://host:8000/v1"),
        None,
    ),
    _option("tasks", str, typer.Option(help="comma-separated: mcq,detail"), ",".join(_G["tasks"])),
    _option("variant", str, typer.Option(help="prompt variant: plain | expert"), _G["variant"]),
    _option("per_caption", int, typer.Option(help="items per caption and task"), _G["per_caption"]),
    _option(
        "per_request",
        int,
        typer.Option(help="questions asked for in one request, each on its own focus area"),
        _G["per_request"],
    ),
    _option("limit", int | None, typer.Option(help="stop after N work items"), None),
    _option(
        "seed", int, typer.Option(help="run seed; per-record seeds derive from it"), _G["seed"]
    ),
    _option("prompts", Path, typer.Option(help="folder of Jinja templates"), _G["prompts_dir"]),
    _option("temperature", float, typer.Option(), _S["temperature"]),
    _option("max_tokens", int, typer.Option(help="per question asked for"), _S["max_tokens"]),
    _option(
        "grounding",
        bool | None,
        typer.Option(
            "--grounding/--no-grounding",
            help="second-pass grounding check (default: on, off for embedded)",
        ),
        None,
    ),
    _option(
        "audio_votes",
        int,
        typer.Option(help="no-caption votes per MCQ (0 turns it off)"),
        _G["audio_votes"],
    ),
    _option(
        "concurrency",
        int | None,
        typer.Option(help="most requests in flight [default: 16; 256 with vllm]"),
        None,
    ),
    _option("timeout", float, typer.Option(help="seconds per request"), _G["timeout_s"]),
    _option(
        "price_input",
        float | None,
        typer.Option(help="USD per million prompt tokens: shows spent and projected cost"),
        None,
    ),
    _option(
        "price_output",
        float | None,
        typer.Option(help="USD per million completion tokens"),
        None,
    ),
    _option("shard_rows", int, typer.Option(help="rows per Parquet shard"), _G["shard_rows"]),
    _option(
        "force_new",
        bool,
        typer.Option(help="start over in a folder made with other settings"),
        _G["force_new"],
    ),
    _option("progress", bool, typer.Option("--progress/--no-progress"), _G["progress"]),
    _option(
        "ray",
        str | None,
        typer.Option(help="run on Ray: 'local' or a cluster address (ray://host:10001 or auto)"),
        None,
    ),
    _option(
        "tensor_parallel_size",
        int,
        typer.Option(help="vllm: GPUs per model"),
        _V["tensor_parallel_size"],
    ),
    _option(
        "gpu_memory_utilization",
        float,
        typer.Option(help="vllm: share of GPU memory"),
        _V["gpu_memory_utilization"],
    ),
    _option("max_model_len", int | None, typer.Option(help="vllm: context length"), None),
)


# What ``check --llm`` shares with a run: which LLM to ask, and how.
LLM_OPTIONS = (
    "backend",
    "model",
    "base_url",
    "seed",
    "prompts",
    "grounding",
    "audio_votes",
    "concurrency",
    "timeout",
    "tensor_parallel_size",
    "gpu_memory_utilization",
    "max_model_len",
)


def run_options(
    *, exclude: tuple[str, ...] = (), only: tuple[str, ...] | None = None
) -> Callable[[F], F]:
    """Give a command its own parameters, then every run option in ``only`` (default: all)
    and not in ``exclude``."""
    names = {p.name for p in RUN_OPTIONS}
    exclude = (*exclude, *(names - set(only))) if only is not None else exclude
    unknown = set(exclude) - names
    if unknown:
        raise ValueError(f"no such run options: {sorted(unknown)}")

    def declare(command: F) -> F:
        own = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for p in inspect.signature(command, eval_str=True).parameters.values()
            if p.kind is not inspect.Parameter.VAR_KEYWORD
        ]
        shared = [p for p in RUN_OPTIONS if p.name not in exclude]
        command.__signature__ = inspect.Signature([*own, *shared])  # type: ignore[attr-defined]
        return command

    return declare


def first_error(err: ValueError) -> str:
    """A config validation error as one line naming the option."""
    errors = getattr(err, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where + ': ' if where else ''}{first['msg']}"
    return str(err)
