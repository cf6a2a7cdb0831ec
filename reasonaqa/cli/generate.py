"""``reasonaqa generate`` and ``reasonaqa retry-failed``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reasonaqa.cli import llm_options as opt
from reasonaqa.cli.app import app
from reasonaqa.config import GenerateConfig, SamplingConfig, defaults
from reasonaqa.errors import InputError

if TYPE_CHECKING:
    from reasonaqa.engine.session import RunResult

# Option defaults come from the config models: one source for every default.
_G, _S = defaults(GenerateConfig), defaults(SamplingConfig)
_L, _V = opt.LLM_DEFAULTS, opt.VLLM_DEFAULTS


@app.command("generate")
def generate_command(
    manifest: Annotated[Path, typer.Option("--manifest", "-m", help="clip manifest (JSONL)")],
    output: Annotated[Path, typer.Option("--output", "-o", help="run folder")],
    backend: opt.Backend = _L["backend"],
    model: opt.Model = None,
    base_url: opt.BaseUrl = None,
    tasks: Annotated[str, typer.Option(help="comma-separated: mcq,detail")] = ",".join(_G["tasks"]),
    variant: Annotated[str, typer.Option(help="prompt variant: plain | expert")] = _G["variant"],
    per_caption: Annotated[int, typer.Option(help="items per caption and task")] = _G[
        "per_caption"
    ],
    per_request: Annotated[
        int,
        typer.Option(help="questions asked for in one request, each on its own focus area"),
    ] = _G["per_request"],
    limit: Annotated[int | None, typer.Option(help="stop after N work items")] = None,
    seed: opt.Seed = _L["seed"],
    prompts: opt.Prompts = _L["prompts_dir"],
    temperature: Annotated[float, typer.Option()] = _S["temperature"],
    max_tokens: Annotated[int, typer.Option(help="per question asked for")] = _S["max_tokens"],
    grounding: opt.Grounding = None,
    audio_votes: opt.AudioVotes = _L["audio_votes"],
    concurrency: opt.Concurrency = None,
    timeout: opt.Timeout = _L["timeout_s"],
    shard_rows: Annotated[int, typer.Option(help="rows per Parquet shard")] = _G["shard_rows"],
    force_new: Annotated[
        bool, typer.Option(help="start over in a folder made with other settings")
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
    ray: Annotated[
        str | None,
        typer.Option(help="run on Ray: 'local' or a cluster address (ray://host:10001 or auto)"),
    ] = None,
    tensor_parallel_size: opt.TensorParallelSize = _V["tensor_parallel_size"],
    gpu_memory_utilization: opt.GpuMemoryUtilization = _V["gpu_memory_utilization"],
    max_model_len: opt.MaxModelLen = None,
) -> int:
    """Generate multiple-choice and detailed QA for every clip of a manifest."""
    llm = opt.llm_settings(
        backend=backend,
        model=model,
        base_url=base_url,
        seed=seed,
        prompts=prompts,
        grounding=grounding,
        audio_votes=audio_votes,
        concurrency=concurrency,
        timeout=timeout,
        tensor_parallel_size=tensor_parallel_size,
        gpu_memory_utilization=gpu_memory_utilization,
        max_model_len=max_model_len,
    )
    try:
        config = GenerateConfig(
            **llm,
            manifest=manifest,
            output=output,
            tasks=[t.strip() for t in tasks.split(",") if t.strip()],  # type: ignore[misc]
            variant=variant,  # type: ignore[arg-type]
            per_caption=per_caption,
            per_request=per_request,
            limit=limit,
            sampling=SamplingConfig(temperature=temperature, max_tokens=max_tokens),
            shard_rows=shard_rows,
            force_new=force_new,
            progress=progress,
        )
    except ValueError as err:
        raise opt.bad_option(err) from err
    if not manifest.is_file():
        raise InputError("manifest not found", file=manifest)
    return _report(_execute(config, ray))


@app.command("retry-failed")
def retry_failed_command(
    run: Annotated[Path, typer.Argument(help="run folder")],
    base_url: Annotated[str | None, typer.Option(help="the endpoint, if it moved")] = None,
    concurrency: Annotated[int | None, typer.Option(help="most requests in flight")] = None,
    timeout: Annotated[float | None, typer.Option(help="seconds per request")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> int:
    """Re-run only the quarantined items of a run, with its saved settings."""
    overrides = {"base_url": base_url, "concurrency": concurrency, "timeout_s": timeout}
    overrides = {key: value for key, value in overrides.items() if value is not None}
    from reasonaqa.engine.session import release_quarantined

    config, count = release_quarantined(run, overrides | {"progress": progress})
    typer.echo(f"retrying {count} quarantined items")
    return _report(_execute(config, None))


def _execute(config: GenerateConfig, ray: str | None) -> RunResult:
    if ray is None:
        from reasonaqa.engine.generate import generate

        return generate(config)
    from reasonaqa.engine.distributed import generate_on_ray

    return generate_on_ray(config, address=ray)


def _report(result: RunResult) -> int:
    final = result.final
    typer.echo(f"\nrun: {result.run_dir}  (fingerprint {result.fingerprint})")
    splits = ", ".join(f"{split} {n}" for split, n in sorted(final.by_split.items())) or "none"
    typer.echo(f"accepted: {final.accepted} ({splits}) in {len(final.shards)} shard(s) under data/")
    typer.echo(f"rejected: {sum(final.rejected.values())}" + _by_reason(final.rejected))
    typer.echo(f"quarantined: {result.quarantined}" + _by_reason(final.quarantined))
    if final.correct_is_longest_rate is not None:
        typer.echo(f"correct option is the longest: {final.correct_is_longest_rate:.0%} of MCQs")
    typer.echo(f'load it: pandas.read_parquet("{result.run_dir}")')
    if result.quarantined:
        typer.echo(f"some items failed after retries: reasonaqa retry-failed {result.run_dir}")
    return result.exit_code


def _by_reason(counts: dict[str, int]) -> str:
    if not counts:
        return ""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return "  (" + ", ".join(f"{reason} {n}" for reason, n in ordered) + ")"
