"""Reading JSON Lines of objects: each with its line number, bad lines as one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from reasonaqa.errors import InputError


def iter_json_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; a line that is not a JSON object stops
    with its file and row."""
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as err:
                raise InputError(f"not valid JSON ({err})", file=path, row=number) from None
            if not isinstance(value, dict):
                raise InputError("not a JSON object", file=path, row=number)
            yield number, value
