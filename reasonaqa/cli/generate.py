"""``reasonaqa generate`` and ``reasonaqa retry-failed``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reasonaqa.cli.app import app
from reasonaqa.cli.options import first_error, run_options
from reasonaqa.config import GenerateConfig, config_from_settings
from reasonaqa.errors import InputError

if TYPE_CHECKING:
    from reasonaqa.engine.session import RunResult


@app.command("generate")
@run_options()
def generate_command(**settings: Any) -> int:
    """Generate multiple-choice and detailed QA for every clip of a manifest."""
    ray = settings.pop("ray")
    config = checked_config(settings)
    return _report(_execute(config, ray))


def checked_config(settings: dict[str, Any]) -> GenerateConfig:
    """The run's configuration from the options; a bad one is one line, exit status 2."""
    try:
        config = config_from_settings(settings)
    except ValueError as err:
        raise InputError(f"bad option: {first_error(err)}") from err
    if not config.manifest.is_file():
        raise InputError("manifest not found", file=config.manifest)
    return config


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
    """The run's numbers (``RunCounts``, as ``_run.json`` and the card show them), then how
    to load it."""
    typer.echo(f"\nrun: {result.run_dir}  (fingerprint {result.fingerprint})")
    for line in result.counts.summary_lines(result.cost_usd):
        typer.echo(line)
    typer.echo(f"shards: {len(result.final.shards)} under data/")
    rate = result.final.correct_is_longest_rate
    if rate is not None:
        typer.echo(f"correct option is the longest: {rate:.0%} of MCQs")
    typer.echo(f'load it: pandas.read_parquet("{result.run_dir}")')
    if result.quarantined:
        typer.echo(
            f"some items failed after retries: reasonaqa retry-failed {result.run_dir}"
            " (add --reseed if the model keeps failing them the same way)"
        )
    return result.exit_code
