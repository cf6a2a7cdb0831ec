"""``reasonaqa view RUN_OR_BUILD``: browse a folder's rows in a local, read-only web page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reasonaqa.cli.app import app


@app.command("view")
def view(
    folder: Annotated[
        Path, typer.Argument(help="run folder (reasonaqa generate) or build folder (build)")
    ],
    audio_root: Annotated[
        Path | None,
        typer.Option(help="folder the rows' audio_path are relative to: adds a player per item"),
    ] = None,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="port on 127.0.0.1; 0 picks a free one")
    ] = 0,
) -> None:
    """Serve accepted, rejected and quarantined rows on 127.0.0.1, with filters and search."""
    # Imported here: DuckDB and aiohttp would slow every other command's start.
    from reasonaqa.viewer.server import run_viewer

    run_viewer(folder, audio_root=audio_root, port=port)
