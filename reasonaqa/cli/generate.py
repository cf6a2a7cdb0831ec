"""``reasonaqa generate`` and ``reasonaqa retry-failed``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reasonaqa.cli.app import app
from reasonaqa.config import GenerateConfig, SamplingConfig, VllmOptions, defaults
from reasonaqa.errors import InputError

if TYPE_CHECKING:
    from reasonaqa.engine.session import RunResult

# Option defaults come from the config models: one source for every default.
_G, _S, _V = defaults(GenerateConfig), defaults(SamplingConfig), defaults(VllmOptions)


@app.command("generate")
def generate_command(
    manifest: Annotated[Path, typer.Option("--manifest", "-m", help="clip manifest (JSONL)")],
    output: Annotated[Path, typer.Option("--output", "-o", help="run folder")],
    backend: Annotated[str, typer.Option(help="embedded | openai | vllm")] = _G["backend"],
    model: Annotated[str | None, typer.Option(help="model name, HF folder or GGUF path")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible URL, e.g. http://host:8000/v1")
    ] = None,
    tasks: Annotated[str, typer.Option(help="comma-separated: mcq,detail")] = ",".join(_G["tasks"]),
    variant: Annotated[str, typer.Option(help="prompt variant: plain | expert")] = _G["variant"],
    per_caption: Annotated[int, typer.Option(help="items per caption and task")] = _G[
        "per_caption"
    ],
    limit: Annotated[int | None, typer.Option(help="stop after N work items")] = None,
    seed: Annotated[int, typer.Option(help="run seed; per-record seeds derive from it")] = _G[
        "seed"
    ],
    prompts: Annotated[Path, typer.Option(help="folder of Jinja templates")] = _G["prompts_dir"],
    temperature: Annotated[float, typer.Option()] = _S["temperature"],
    max_tokens: Annotated[int, typer.Option()] = _S["max_tokens"],
    grounding: Annotated[
        bool | None,
        typer.Option(
            "--grounding/--no-grounding",
            help="second-pass grounding check (default: on, off for embedded)",
        ),
    ] = None,
    audio_votes: Annotated[
        int, typer.Option(help="no-caption votes per MCQ (0 turns it off)")
    ] = _G["audio_votes"],
    concurrency: Annotated[
        int | None, typer.Option(help="most requests in flight [default: 16; 256 with vllm]")
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds per request")] = _G["timeout_s"],
    shard_rows: Annotated[int, typer.Option(help="rows per Parquet shard")] = _G["shard_rows"],
    force_new: Annotated[
        bool, typer.Option(help="start over in a folder made with other settings")
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
    ray: Annotated[
        str | None,
        typer.Option(help="run on Ray: 'local' or a cluster address (ray://host:10001 or auto)"),
    ] = None,
    tensor_parallel_size: Annotated[int, typer.Option(help="vllm: GPUs per model")] = _V[
        "tensor_parallel_size"
    ],
    gpu_memory_utilization: Annotated[float, typer.Option(help="vllm: share of GPU memory")] = _V[
        "gpu_memory_utilization"
    ],
    max_model_len: Annotated[int | None, typer.Option(help="vllm: context length")] = None,
) -> int:
    """Generate multiple-choice and detailed QA for every clip of a manifest."""
    try:
        config = GenerateConfig(
            manifest=manifest,
            output=output,
            backend=backend,  # type: ignore[arg-type]
            model=model,
            base_url=base_url,
            tasks=[t.strip() for t in tasks.split(",") if t.strip()],  # type: ignore[misc]
            variant=variant,  # type: ignore[arg-type]
            per_caption=per_caption,
            limit=limit,
            seed=seed,
            prompts_dir=prompts,
            sampling=SamplingConfig(temperature=temperature, max_tokens=max_tokens),
            grounding=grounding,
            audio_votes=audio_votes,
            concurrency=concurrency,
            timeout_s=timeout,
            shard_rows=shard_rows,
            force_new=force_new,
            progress=progress,
            vllm=VllmOptions(
                tensor_parallel_size=tensor_parallel_size,
                gpu_memory_utilization=gpu_memory_utilization,
                max_model_len=max_model_len,
            ),
        )
    except ValueError as err:
        raise InputError(f"bad option: {_first_error(err)}") from err
    if not manifest.is_file():
        raise InputError("manifest not found", file=manifest)
    return _report(_execute(config, ray))


@app.command("retry-failed")
def retry_failed_command(
    run: Annotated[Path, typer.Argument(help="run folder")],
    base_url: Annotated[str | None, typer.Option(help="the endpoint, if it moved")] = None,
    concurrency: Annotated[int | None, typer.Option(help="most requests in flight")] = None,
    timeout: Annotated[float | None, typer.Option(help="seconds per request")] = None,
    reseed: Annotated[
        bool,
        typer.Option(
            help="give each retried item a new seed: for a model that fails a seeded request "
            "the same way every time (record ids stay; the row's seed column shows the new one)"
        ),
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> int:
    """Re-run only the quarantined items of a run, with its saved settings."""
    overrides = {"base_url": base_url, "concurrency": concurrency, "timeout_s": timeout}
    overrides = {key: value for key, value in overrides.items() if value is not None}
    from reasonaqa.engine.session import release_quarantined

    config, count = release_quarantined(run, overrides | {"progress": progress}, reseed=reseed)
    typer.echo(f"retrying {count} quarantined items" + (" with new seeds" if reseed else ""))
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
        typer.echo(
            f"some items failed after retries: reasonaqa retry-failed {result.run_dir}"
            " (add --reseed if the model keeps failing them the same way)"
        )
    return result.exit_code


def _by_reason(counts: dict[str, int]) -> str:
    if not counts:
        return ""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return "  (" + ", ".join(f"{reason} {n}" for reason, n in ordered) + ")"


def _first_error(err: ValueError) -> str:
    errors = getattr(err, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(err)
