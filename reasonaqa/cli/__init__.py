"""Command-line interface: the top layer. Each command group lives in its own module.

Every failure ends as one line on stderr: usage errors as click's usage message (exit 2),
bad input, an endpoint that refuses the run (401, 403, 404, unreachable) and OS errors
(read-only folder, full disk, a file where a folder belongs; SQLite's own disk errors too) as
``error: ...`` (exit 2), Ctrl-C and SIGTERM with the command that resumes (exit 130 and 143:
128 + the signal).
"""

from __future__ import annotations

import importlib
import shlex
import sqlite3
import sys
from types import ModuleType

import typer

from reasonaqa.backends.base import FatalBackendError, redact_url
from reasonaqa.cli.app import app
from reasonaqa.engine import signals
from reasonaqa.errors import InputError

# Importing a module registers its commands on ``app``.
COMMAND_MODULES = (
    "manifest",
    "generate",
    "preview",
    "check",
    "stats",
    "build",
    "export",
    "train",
    "view",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"reasonaqa.cli.{_name}")


def _click_modules() -> list[ModuleType]:
    """The click that typer actually raises from: newer typers vendor their own copy."""
    modules = []
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            continue
    return modules


_CLICK = _click_modules()
CLICK_ERRORS = tuple(m.ClickException for m in _CLICK)
# Click turns Ctrl-C into Abort; typer 0.29 defines its own Abort beside the vendored click.
ABORTS = tuple({typer.Abort, *(m.Abort for m in _CLICK if hasattr(m, "Abort"))})


def main() -> None:
    """Entry point: bad input becomes one line on stderr and exit status 2."""
    signals.install()
    try:
        code = app(standalone_mode=False)
    except signals.Interrupted as err:
        _fail(f"interrupted ({err.name}): work done is kept; resume: {_resume()}", err.exit_code)
    except InputError as err:
        _fail(f"error: {err}", 2)
    except FatalBackendError as err:
        reason = str(err).rstrip(". ")
        _fail(f"error: {reason}. Nothing was quarantined; rerun the same command once fixed.", 2)
    except CLICK_ERRORS as err:
        err.show()  # type: ignore[attr-defined]
        sys.exit(err.exit_code)  # type: ignore[attr-defined]
    except (KeyboardInterrupt, *ABORTS):
        _fail("interrupted: rerun the same command to resume", 130)
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        _fail(f"error: {where}{err.strerror or err}", 2)
    except sqlite3.DatabaseError as err:  # "database or disk is full", "readonly database"
        _fail(f"error: the run journal (SQLite): {err}", 2)
    # Commands return an int exit status (for example "some items were quarantined").
    sys.exit(code if isinstance(code, int) else 0)


def _resume() -> str:
    """The command line as typed, which resumes any interrupted command; URL credentials are
    shown as ``***`` (type them again)."""
    return shlex.join(["reasonaqa", *map(_without_secrets, sys.argv[1:])])


def _without_secrets(arg: str) -> str:
    if "://" not in arg:
        return arg
    option, equals, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
    return option + equals + redact_url(value)


def _fail(line: str, code: int) -> None:
    print(" ".join(line.split()), file=sys.stderr)
    sys.exit(code)
