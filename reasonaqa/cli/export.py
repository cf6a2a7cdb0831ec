"""``reasonaqa export mellow|hf RUN -o DIR``: a finished run in other tools' formats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reasonaqa.cli.app import app

export_app = typer.Typer(help="Export a run (or build) folder for Mellow or Hugging Face.")
app.add_typer(export_app, name="export")

RunArgument = Annotated[Path, typer.Argument(help="Run or build folder (holds data/).")]
OutOption = Annotated[Path, typer.Option("--output", "-o", help="Folder to write.")]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace an earlier export of the same kind at -o.")
]


@export_app.command("mellow")
def mellow(run: RunArgument, output: OutOption, overwrite: OverwriteOption = False) -> None:
    """Write train.json, val.json and test.json in Mellow's ReasonAQA record format."""
    from reasonaqa.export.mellow import export_mellow

    for split, count in export_mellow(run, output, overwrite=overwrite).items():
        typer.echo(f"{output / f'{split}.json'}: {count} records", err=True)


@export_app.command("hf")
def hf(run: RunArgument, output: OutOption, overwrite: OverwriteOption = False) -> None:
    """Write a folder that datasets.load_dataset("parquet", data_dir=DIR) loads with splits."""
    from reasonaqa.export.hf import export_hf

    for split, count in export_hf(run, output, overwrite=overwrite).items():
        typer.echo(f"{split}: {count} rows", err=True)
    typer.echo(f'load with datasets.load_dataset("parquet", data_dir="{output}")', err=True)
