"""``reasonaqa manifest``: caption CSVs of one split into a clip manifest."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from reasonaqa.cli.app import app


class Kind(enum.StrEnum):
    audiocaps = "audiocaps"
    clotho = "clotho"


@app.command("manifest")
def manifest(
    kind: Annotated[Kind, typer.Argument(help="Which caption CSV format the files use.")],
    csv_files: Annotated[
        list[Path], typer.Argument(help="Caption CSVs of one split.", show_default=False)
    ],
    split: Annotated[str, typer.Option(help="Split name written on every clip, e.g. val.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Manifest to write: .jsonl or .parquet.")
    ],
    audio_root: Annotated[
        Path | None,
        typer.Option(help="Folder of the audio files; when given, every clip's file must exist."),
    ] = None,
    audio_pattern: Annotated[
        str | None,
        typer.Option(
            help="Relative audio path pattern. AudioCaps default 'Y{youtube_id}.wav' "
            "(also {split}, {audiocap_id}, {start_time}); Clotho default '{file_name}' "
            "(also {split})."
        ),
    ] = None,
    encoding: Annotated[
        str, typer.Option(help="Text encoding of the CSVs; nothing is guessed.")
    ] = "utf-8",
) -> None:
    """Build a manifest (one row per clip, all of its captions) from AudioCaps or Clotho CSVs.

    Errors name the file, the data row (counted from 1, the header not counted) and the column.
    """
    from reasonaqa.sources.manifests import build_manifest, manifest_format, write_manifest

    manifest_format(output)  # a wrong suffix fails before the CSVs are read
    clips = build_manifest(
        kind.value,
        csv_files,
        split,
        audio_root=audio_root,
        audio_pattern=audio_pattern,
        encoding=encoding,
    )
    count = write_manifest(clips, output)
    captions = sum(len(clip.captions) for clip in clips)
    typer.echo(f"wrote {count} clips with {captions} captions to {output}", err=True)
