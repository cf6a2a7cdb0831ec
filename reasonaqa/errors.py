"""User-facing errors: one line that names the file, the row and the field."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


class InputError(Exception):
    """Bad user input. The CLI prints ``str(err)`` on one line and exits non-zero."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.row = row
        self.field = field
        self.message = message
        super().__init__(self._line())

    def _line(self) -> str:
        parts = [
            self.file,
            f"row {self.row}" if self.row is not None else None,
            f"column {self.field!r}" if self.field else None,
        ]
        where = ", ".join(p for p in parts if p)
        text = " ".join(self.message.split())  # always a single line
        return f"{where}: {text}" if where else text


@contextlib.contextmanager
def naming(path: str | Path) -> Iterator[None]:
    """Give an OSError without a file name (a write that filled the disk, Arrow's I/O errors)
    the name of ``path``, so its one line says which file."""
    try:
        yield
    except OSError as err:
        if err.filename is None:
            err.filename = str(path)
        raise
