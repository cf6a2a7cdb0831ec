"""``reasonaqa build RECIPE -o DIR``: a whole dataset from a recipe, with clean splits."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from reasonaqa.cli.app import app


class BackendChoice(enum.StrEnum):
    embedded = "embedded"
    openai = "openai"
    vllm = "vllm"


@app.command("build")
def build_command(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML, e.g. recipes/sample.yaml.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to build into.")],
    backend: Annotated[
        BackendChoice | None, typer.Option(help="Override the recipe's generation backend.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Override the recipe's OpenAI-compatible server URL.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Override the recipe's model.")] = None,
    progress: Annotated[bool, typer.Option(help="Show generation progress.")] = True,
) -> int:
    """Generate the recipe's synthetic parts, import its existing QA, merge into split shards.

    Writes OUT/data/{train,val,test}-NNNNN.parquet, OUT/_run.json and the OUT/_card/ card.
    Fails, writing no data, if any clip would sit in two splits. Rerunning resumes.
    """
    from reasonaqa.dataset.build import build
    from reasonaqa.dataset.recipe import load_recipe

    chosen = load_recipe(recipe).with_generation(
        backend=backend.value if backend is not None else None, base_url=base_url, model=model
    )
    result = build(chosen, output, progress=progress)
    for split, rows in result.summary["splits"].items():
        typer.echo(f"{split}: {rows} rows", err=True)
    for name, part in result.summary["parts"].items():
        target = part["target"]
        if target is not None and part["rows"] != target:
            typer.echo(f"part {name}: {part['rows']} rows, recipe target {target}", err=True)
    if result.exit_code:
        typer.echo("some synthetic items were quarantined; rerun to retry them", err=True)
    return result.exit_code
