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
    force_new: Annotated[
        bool,
        typer.Option(
            help="start over the synthetic parts whose inputs or settings changed (their cached"
            " LLM answers are kept); unchanged parts are reused"
        ),
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show generation progress.")] = True,
) -> int:
    """Plan the recipe, generate its synthetic parts, import its existing QA, merge the splits.

    Reads every source and checks every clip's split before the first LLM request; writes
    OUT/_plan.json, OUT/data/{train,val,test}-NNNNN.parquet, OUT/_run.json and the OUT/_card/
    card. Rerunning resumes, and reuses every part that did not change.
    """
    from reasonaqa.cli.generate import _report
    from reasonaqa.dataset.build import build
    from reasonaqa.dataset.recipe import load_recipe
    from reasonaqa.dataset.splits import SplitLeakError

    chosen = load_recipe(recipe).with_generation(
        backend=backend.value if backend is not None else None, base_url=base_url, model=model
    )
    try:
        result = build(chosen, output, progress=progress, force_new=force_new)
    except SplitLeakError as err:
        for leak in err.leaks:
            typer.echo(f"split leak: {leak.describe()}", err=True)
        raise
    for name, run in result.synthetic.items():
        state = "reused, unchanged" if name in result.reused else "generated"
        typer.echo(f"\n== synthetic part {name} ({state})")
        _report(run)
    summary = result.summary
    typer.echo(
        f"\nbuild: {output}" + ("  (unchanged since the last build)" if not result.merged else "")
    )
    for split, rows in summary["splits"].items():
        typer.echo(f"{split}: {rows} rows")
    for name, part in summary["parts"].items():
        target = part["target"]
        if target is not None and part["rows"] != target:
            typer.echo(f"part {name}: {part['rows']} rows, recipe target {target}")
    identity = summary.get("identity", {})
    if identity.get("normalised_rows") or identity.get("unmatched_rows"):
        typer.echo(
            f"clip names: {identity.get('normalised_rows', 0)} rows matched after whitespace"
            f" normalisation, {identity.get('unmatched_rows', 0)} rows match no caption clip"
            f" (listed in {output / '_plan.json'})"
        )
    for leak in summary.get("plan", {}).get("leaks", []):
        typer.echo(f"split leak {leak['clip']}: {leak['decision']}")
    if result.exit_code:
        typer.echo(
            "some synthetic items were quarantined: run the retry-failed command above for each"
            f" part, then rebuild: reasonaqa build {recipe} -o {output}"
        )
    return result.exit_code
