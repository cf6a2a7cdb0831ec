"""Caption manifests: one row per audio clip, built from AudioCaps or Clotho caption CSVs.

A manifest is JSON Lines (one ``Clip`` per line, UTF-8) or, when the path ends in
``.parquet``, a Parquet file with the same columns. It is what the generator reads.

Policies a user may need to know:

* CSVs are read by ``csv_rows.read_csv_rows`` (strict: encoding, header, field counts).
* Row numbers in Clotho ``source_rows`` count data rows from 1. With one CSV, a Clotho
  source row is the number alone; with several it is ``<file name>:<number>`` so it stays
  unique.
* A clip listed twice with identical data is kept once; with different data it is an error.
* ``audio_root``: when given, every clip's audio file must exist under it, or the build
  stops naming the first missing file's CSV row and how many are missing in all.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from reasonaqa.errors import InputError
from reasonaqa.schemas import Clip
from reasonaqa.sources.csv_rows import CsvRow, read_csv_rows
from reasonaqa.storage.atomic import atomic_path

ManifestKind = Literal["audiocaps", "clotho"]

AUDIOCAPS_COLUMNS = ("audiocap_id", "youtube_id", "start_time", "caption")
CLOTHO_CAPTION_COLUMNS = tuple(f"caption_{n}" for n in range(1, 6))
CLOTHO_COLUMNS = ("file_name", *CLOTHO_CAPTION_COLUMNS)

DEFAULT_AUDIO_PATTERNS: dict[str, str] = {
    "audiocaps": "Y{youtube_id}.wav",
    "clotho": "{file_name}",
}
ID_COLUMNS: dict[str, str] = {"audiocaps": "youtube_id", "clotho": "file_name"}
PATTERN_FIELDS: dict[str, tuple[str, ...]] = {
    "audiocaps": ("split", "youtube_id", "audiocap_id", "start_time"),
    "clotho": ("split", "file_name"),
}


# --- Building clips ------------------------------------------------------------------------


@dataclass
class _ClipDraft:
    """A clip being assembled, with the CSV row that introduced it."""

    first: CsvRow
    clip_id: str
    fields: dict[str, str]
    captions: list[str] = field(default_factory=list)
    source_rows: list[str] = field(default_factory=list)
    start: float = 0.0  # AudioCaps: seconds into the YouTube video


def build_manifest(
    kind: ManifestKind,
    csv_paths: Sequence[Path],
    split: str,
    audio_root: Path | None = None,
    audio_pattern: str | None = None,
    encoding: str = "utf-8",
) -> list[Clip]:
    """Read caption CSVs of one split into clips, in order of first appearance.

    ``audio_pattern`` is a ``str.format`` pattern for the relative audio path; see
    ``PATTERN_FIELDS`` for its placeholders and ``DEFAULT_AUDIO_PATTERNS`` for the defaults.
    """
    if kind not in DEFAULT_AUDIO_PATTERNS:
        raise InputError(f"unknown manifest kind {kind!r}; expected audiocaps or clotho")
    if not csv_paths:
        raise InputError("no CSV files given")
    _check_split(split)
    pattern = audio_pattern if audio_pattern is not None else DEFAULT_AUDIO_PATTERNS[kind]
    _check_pattern(pattern, PATTERN_FIELDS[kind])
    paths = [Path(p) for p in csv_paths]
    if kind == "audiocaps":
        drafts = _audiocaps_drafts(paths, encoding)
    else:
        drafts = _clotho_drafts(paths, encoding)
    clips = _finish(drafts, kind, split, pattern)
    if audio_root is not None:
        _check_audio(clips, drafts, Path(audio_root))
    return clips


def _check_split(split: str) -> None:
    allowed = set(string.ascii_letters + string.digits + "_-.")
    if not split or not set(split) <= allowed or split.startswith("."):
        raise InputError(f"split name {split!r} must be letters, digits, '_', '-' or '.'")


def _check_pattern(pattern: str, known: tuple[str, ...]) -> None:
    placeholders = ", ".join("{" + name + "}" for name in known)
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]
        pattern.format(**{name: "x" for name in known})
    except (ValueError, KeyError, IndexError) as err:
        raise InputError(
            f"--audio-pattern {pattern!r}: {err}; use only the placeholders {placeholders}"
        ) from None
    if not names or any(name not in known for name in names):
        raise InputError(f"--audio-pattern {pattern!r}: use only the placeholders {placeholders}")


def _audiocaps_drafts(paths: list[Path], encoding: str) -> list[_ClipDraft]:
    """Group caption rows by YouTube id; captions keep file order."""
    drafts: dict[str, _ClipDraft] = {}
    by_caption_id: dict[str, CsvRow] = {}
    for path in paths:
        for row in read_csv_rows(path, AUDIOCAPS_COLUMNS, encoding):
            values = {column: row.require(column) for column in AUDIOCAPS_COLUMNS}
            caption_id = values["audiocap_id"]
            start = _parse_start(row)
            earlier = by_caption_id.get(caption_id)
            if earlier is not None:
                _check_same(earlier, row, AUDIOCAPS_COLUMNS, f"audiocap_id {caption_id}")
                continue
            by_caption_id[caption_id] = row
            draft = drafts.get(values["youtube_id"])
            if draft is None:
                draft = _ClipDraft(row, values["youtube_id"], values, start=start)
                drafts[values["youtube_id"]] = draft
            elif draft.start != start:
                _conflict(draft.first, row, "start_time", f"youtube_id {values['youtube_id']}")
            draft.captions.append(values["caption"])
            draft.source_rows.append(caption_id)
    return list(drafts.values())


def _parse_start(row: CsvRow) -> float:
    try:
        return float(row.require("start_time"))
    except ValueError:
        raise InputError(
            "not a number of seconds", file=row.file, row=row.number, field="start_time"
        ) from None


def _clotho_drafts(paths: list[Path], encoding: str) -> list[_ClipDraft]:
    """One clip per row; the file name is the clip id and is kept exactly as written."""
    drafts: dict[str, _ClipDraft] = {}
    for path in paths:
        for row in read_csv_rows(path, CLOTHO_COLUMNS, encoding):
            # Not stripped: a file name may really end in a space.
            name = row.values["file_name"]
            if not name.strip():
                raise InputError("empty value", file=row.file, row=row.number, field="file_name")
            captions = [row.require(column) for column in CLOTHO_CAPTION_COLUMNS]
            earlier = drafts.get(name)
            if earlier is not None:
                _check_same(earlier.first, row, CLOTHO_CAPTION_COLUMNS, f"file_name {name!r}")
                continue
            source = str(row.number) if len(paths) == 1 else f"{path.name}:{row.number}"
            drafts[name] = _ClipDraft(row, name, {"file_name": name}, captions, [source])
    return list(drafts.values())


def _check_same(earlier: CsvRow, row: CsvRow, columns: Sequence[str], what: str) -> None:
    for column in columns:
        if earlier.values[column].strip() != row.values[column].strip():
            _conflict(earlier, row, column, what)


def _conflict(earlier: CsvRow, row: CsvRow, column: str, what: str) -> None:
    before = earlier.values[column].strip()
    now = row.values[column].strip()
    raise InputError(
        f"{what} was listed at {earlier.where()} with {column} {before!r}, here {now!r}",
        file=row.file,
        row=row.number,
        field=column,
    )


def _finish(drafts: list[_ClipDraft], kind: ManifestKind, split: str, pattern: str) -> list[Clip]:
    clips: list[Clip] = []
    owner: dict[str, _ClipDraft] = {}
    id_column = ID_COLUMNS[kind]
    for draft in drafts:
        audio_path = pattern.format(split=split, **draft.fields)
        _check_relative(audio_path, draft.first, id_column)
        if audio_path in owner:
            raise InputError(
                f"audio path {audio_path!r} is also that of {owner[audio_path].first.where()};"
                " the --audio-pattern must include the clip id",
                file=draft.first.file,
                row=draft.first.number,
                field=id_column,
            )
        owner[audio_path] = draft
        clips.append(
            Clip(
                dataset=kind,
                split=split,
                clip_id=draft.clip_id,
                audio_path=audio_path,
                captions=draft.captions,
                source_rows=draft.source_rows,
                start_time=draft.start if kind == "audiocaps" else None,
            )
        )
    return clips


def _check_relative(audio_path: str, row: CsvRow, column: str) -> None:
    """Audio paths resolve under the audio root; refuse ones that could escape it."""
    # Plain string tests: pathlib here costs more than the rest of the build.
    if audio_path.startswith("/") or ".." in audio_path.split("/") or "\\" in audio_path:
        raise InputError(
            f"audio path {audio_path!r} must be relative, with '/' and no '..'",
            file=row.file,
            row=row.number,
            field=column,
        )


def _check_audio(clips: list[Clip], drafts: list[_ClipDraft], root: Path) -> None:
    if not root.is_dir():
        raise InputError(f"--audio-root {root} is not a folder")
    missing = [
        (clip, draft)
        for clip, draft in zip(clips, drafts, strict=True)
        if not (root / clip.audio_path).is_file()
    ]
    if missing:
        clip, draft = missing[0]
        column = ID_COLUMNS[clip.dataset]
        raise InputError(
            f"audio file {clip.audio_path!r} not found under {root}"
            f" ({len(missing)} of {len(clips)} clips have no audio file)",
            file=draft.first.file,
            row=draft.first.number,
            field=column,
        )


# --- Manifest files ------------------------------------------------------------------------


def write_manifest(clips: Iterable[Clip], path: Path) -> int:
    """Write clips as JSON Lines, or Parquet when ``path`` ends in .parquet; all or nothing.

    Returns the number of clips written.
    """
    path = Path(path)
    fmt = manifest_format(path)
    count = 0
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            from reasonaqa.storage.arrow import MANIFEST_SCHEMA

            rows = [clip.model_dump() for clip in clips]
            count = len(rows)
            table = pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA)
            pq.write_table(table, tmp, compression="zstd")
        else:
            with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
                for clip in clips:
                    fh.write(json.dumps(clip.model_dump(), ensure_ascii=False) + "\n")
                    count += 1
    return count


def read_manifest(path: Path) -> Iterator[Clip]:
    """Stream the clips of a manifest; a bad line stops with its file, line and field."""
    path = Path(path)
    fmt = manifest_format(path)
    if not path.is_file():
        raise InputError("no such manifest file", file=path)
    if fmt == "parquet":
        yield from _read_parquet(path)
    else:
        yield from _read_jsonl(path)


def manifest_format(path: Path) -> Literal["jsonl", "parquet"]:
    """The manifest format a file name asks for; anything else is an input error."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "parquet"
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    raise InputError("manifest file name must end in .jsonl or .parquet", file=path)


def _read_jsonl(path: Path) -> Iterator[Clip]:
    # Binary lines: pydantic checks the UTF-8 itself, so a bad byte is a line error too.
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield Clip.model_validate_json(line)
            except ValidationError as err:
                raise _line_error(err, path, number) from None


def _read_parquet(path: Path) -> Iterator[Clip]:
    import pyarrow.parquet as pq  # only Parquet manifests need it: runs start faster

    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
        for record in batch.to_pylist():
            number += 1
            try:
                yield Clip.model_validate(record)
            except ValidationError as err:
                raise _line_error(err, path, number) from None


def _line_error(err: ValidationError, path: Path, number: int) -> InputError:
    first = err.errors()[0]
    column = ".".join(str(part) for part in first["loc"]) or None
    return InputError(first["msg"], file=path, row=number, field=column)
