"""``reasonaqa stats RUN``: the dataset card and plots of a finished run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from reasonaqa.cli.app import app
from reasonaqa.engine.counts import RunCounts
from reasonaqa.errors import InputError
from reasonaqa.storage.layout import RunPaths


@app.command("stats")
def stats(
    run: Annotated[Path, typer.Argument(help="run folder written by `reasonaqa generate`")],
    as_json: Annotated[
        bool, typer.Option("--json", help="print the statistics as JSON instead of a summary")
    ] = False,
) -> None:
    """Count a run's rows, letters, lengths and rejections; write its dataset card and plots."""
    # Imported here: matplotlib and pyarrow compute would slow every other command's start.
    from reasonaqa.card.report import compute_stats, write_report

    if not run.is_dir():
        raise InputError("run folder does not exist", file=run)
    numbers = compute_stats(run)
    write_report(run, numbers)
    if as_json:
        typer.echo(json.dumps(numbers, indent=2))
        return
    paths = RunPaths(run)
    longest = numbers["correct_is_longest"]["rate"]
    weak = numbers["audio_contribution"]["weak_fraction"]
    typer.echo(
        f"{numbers['rows']:,} rows in {len(numbers['by_split'])} split(s): "
        + ", ".join(f"{k} {v:,}" for k, v in numbers["by_split"].items())
    )
    for line in RunCounts.from_json(numbers["run"], paths.run_manifest).summary_lines():
        typer.echo(line)
    typer.echo(f"correct option longest: {_percent(longest)}; audio-weak MCQs: {_percent(weak)}")
    typer.echo(f"wrote {paths.card} and plots under {paths.plots}")


def _percent(fraction: float | None) -> str:
    return "n/a" if fraction is None else f"{100 * fraction:.1f}%"
