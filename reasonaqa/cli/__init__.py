"""Command-line interface: the top layer. Each command group lives in its own module."""

from __future__ import annotations

import importlib
import sys

import click
import typer

from reasonaqa.cli.app import app
from reasonaqa.errors import InputError

# typer 0.2x raises usage errors from its own copy of click, which are not click's classes.
USAGE_ERRORS = (click.ClickException, getattr(typer, "TyperException", click.ClickException))

# Importing a module registers its commands on ``app``.
COMMAND_MODULES = ("manifest", "generate", "stats", "build", "export", "train", "view")

for _name in COMMAND_MODULES:
    importlib.import_module(f"reasonaqa.cli.{_name}")


def main() -> None:
    """Entry point: bad input becomes one line on stderr and exit status 2."""
    try:
        code = app(standalone_mode=False)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except USAGE_ERRORS as err:
        err.show()
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume", file=sys.stderr)
        sys.exit(130)
    # Commands return an int exit status (for example "some items were quarantined").
    sys.exit(code if isinstance(code, int) else 0)
