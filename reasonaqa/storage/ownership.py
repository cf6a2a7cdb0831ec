"""Which folders are ours: a marker file names what wrote a folder, and nothing else is touched.

Every run, build and export folder holds ``_reasonaqa.json`` (kind, version, creation time).
The rules, checked before anything is written:

* A run or build folder may be written when it is new, empty, or marked with the same kind.
  A run from before markers is recognised by its journal and marked on first use.
* An export may replace its folder only when that folder is new, empty, or an earlier export
  of the same kind, and then only with ``--overwrite``. It never targets its source, a folder
  that contains the source, or a folder inside it.

Anything else is refused with one line, so a user's folder is never written into, let alone
replaced or deleted.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reasonaqa import __version__
from reasonaqa.errors import InputError
from reasonaqa.storage.atomic import write_text_atomic
from reasonaqa.storage.layout import OWNER_MARKER, RunPaths

FolderKind = Literal["run", "build", "export-hf", "export-mellow"]
SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Marker:
    kind: str
    version: str
    created_at: str


def read_marker(folder: Path) -> Marker | None:
    """The marker of ``folder``; None when it has none."""
    path = Path(folder) / OWNER_MARKER
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Marker(str(data["kind"]), str(data["version"]), str(data["created_at"]))
    except (ValueError, KeyError, TypeError):
        raise InputError("unreadable reasonaqa marker: refusing to write here", file=path) from None


def write_marker(folder: Path, kind: FolderKind) -> None:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    marker = {"kind": kind, "version": __version__, "created_at": now}
    write_text_atomic(Path(folder) / OWNER_MARKER, json.dumps(marker, indent=2) + "\n")


def claim_folder(folder: Path, kind: FolderKind) -> None:
    """Make ``folder`` ours to write as ``kind`` (creating it), or refuse with one line."""
    folder = Path(folder)
    _require_folder(folder)
    marker = read_marker(folder)
    if marker is not None:
        _require_kind(folder, marker, kind)
        return
    if not _is_empty(folder) and not _is_legacy(folder, kind):
        raise _not_ours(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_marker(folder, kind)


def check_export_target(source: Path, out: Path, kind: FolderKind, overwrite: bool) -> None:
    """Refuse an export folder that is not ours to replace; the export marks it itself."""
    source, out = Path(source), Path(out)
    real_source, real_out = source.resolve(), out.resolve()
    if real_out == real_source or real_source.is_relative_to(real_out):
        raise InputError(f"the export would replace its source {source}", file=out)
    if real_out.is_relative_to(real_source):
        raise InputError(f"the export must not go inside its source {source}", file=out)
    _require_folder(out)
    marker = read_marker(out)
    if marker is None:
        if not _is_empty(out):
            raise _not_ours(out)
        return
    _require_kind(out, marker, kind)
    if not overwrite:
        raise InputError("holds an earlier export: pass --overwrite to replace it", file=out)


def _require_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise InputError("is a file, not a folder", file=folder)


def _require_kind(folder: Path, marker: Marker, kind: FolderKind) -> None:
    if marker.kind != kind:
        raise InputError(
            f"holds reasonaqa output of kind {marker.kind!r}, not {kind!r}: choose another folder",
            file=folder,
        )


def _is_legacy(folder: Path, kind: FolderKind) -> bool:
    """A folder written before markers existed: a run holds an SQLite journal, a build the
    runs of its synthetic parts."""
    if kind == "build":
        return (folder / "_synthetic").is_dir()
    journal = RunPaths(folder).journal
    if kind != "run" or not journal.is_file():
        return False
    with journal.open("rb") as fh:
        head = fh.read(len(SQLITE_HEADER))
    return head in (b"", SQLITE_HEADER)  # empty: created, then killed before a first write


def _is_empty(folder: Path) -> bool:
    return not folder.exists() or next(folder.iterdir(), None) is None


def _not_ours(folder: Path) -> InputError:
    return InputError(
        f"not empty and not written by reasonaqa (no {OWNER_MARKER}): refusing to write "
        "into it; choose a new or empty folder",
        file=folder,
    )
