"""The typer application that every command module registers onto."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="reasonaqa",
    help="Build ReasonAQA-style audio question-answer datasets from captions, and train Mellow.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: rich formatting costs ~80 ms of start-up on every `--help`.
    rich_markup_mode=None,
)
