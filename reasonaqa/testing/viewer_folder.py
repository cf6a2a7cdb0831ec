"""A small run folder with accepted, rejected and quarantined rows, clips and a card plot.

Rows are written with the project's own schemas, as a finished run writes them; the rejected
file carries the optional ``message`` column and the quarantined one does not, so the viewer
is checked against both shapes of set-aside file.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import soundfile as sf

from reasonaqa.schemas import empty_row
from reasonaqa.storage.arrow import QA_SCHEMA, SET_ASIDE_SCHEMA
from reasonaqa.storage.layout import RunPaths

OPTIONS = ["a dog barking", "a cat meowing", "rain falling", "a car horn"]


def qa_row(record_id: str, **values: Any) -> dict[str, Any]:
    """An MCQ row on clip a1 unless told otherwise."""
    base: dict[str, Any] = {
        "record_id": record_id,
        "origin": "synthetic",
        "source": "AudioCaps-MCQ",
        "dataset": "audiocaps",
        "split": "train",
        "clip_id": "a1",
        "audio_path": "clips/a1.wav",
        "captions": ["A dog barks twice near a road", "A dog barks as cars pass"],
        "task": "mcq",
        "question": f"Which sound is heard first? ({record_id})",
        "answer": "a dog barking",
        "options": OPTIONS,
        "answer_letter": "a",
        "focus": "sound_events",
        "audio_contribution": "strong",
    }
    return empty_row(**(base | values))


ACCEPTED = {
    "train": [
        qa_row("acc-mcq-1"),
        qa_row(
            "acc-mcq-2",
            options=["a cat meowing", "rain falling", "a dog barking", "a car horn"],
            answer_letter="c",
            focus="scene",
            audio_contribution="weak",
        ),
        qa_row(
            "acc-detail-1",
            task="detail",
            source="AudioCaps-Detail",
            question="What might the dog be reacting to?",
            answer="Probably the passing cars: the barks follow each engine sound.",
            options=[],
            answer_letter=None,
            focus="semantics",
            audio_contribution=None,
        ),
    ],
    "val": [
        qa_row(
            "acc-val-1",
            split="val",
            clip_id="a2",
            audio_path="clips/a2.wav",
            captions=["Rain falls on a tin roof"],
            question="What is the 100% <b>loudest</b> sound_here?",
            answer="rain falling",
            options=["a dog barking", "rain falling", "a cat meowing", "a car horn"],
            answer_letter="b",
        ),
    ],
}
REJECTED = [
    (qa_row("rej-mcq-1", question="Which option is in the caption?"), "text_leak", "copies it"),
    (qa_row("rej-mcq-2", focus="emotion"), "options_duplicate", None),
    (qa_row("rej-detail-1", task="detail", options=[], answer_letter=None), "refusal", "sorry"),
]
QUARANTINED = [(qa_row("quar-mcq-1", split="val"), "http_error")]
CLIPS = {"clips/a1.wav": 440.0, "clips/a2.wav": 880.0}


def write_run(root: Path) -> None:
    """Write the run folder: shards, set-aside files, ``_run.json`` and one card plot."""
    paths = RunPaths(root)
    paths.data.mkdir(parents=True)
    for split, rows in ACCEPTED.items():
        pq.write_table(pa.Table.from_pylist(rows, QA_SCHEMA), paths.data / f"{split}-00000.parquet")
    with_message = SET_ASIDE_SCHEMA.append(pa.field("message", pa.string()))
    rejected = [row | {"reason": r, "message": m} for row, r, m in REJECTED]
    paths.rejected.mkdir()
    pq.write_table(
        pa.Table.from_pylist(rejected, with_message), paths.rejected / "rejected-00000.parquet"
    )
    quarantined = [row | {"reason": reason} for row, reason in QUARANTINED]
    paths.quarantine.mkdir()
    pq.write_table(
        pa.Table.from_pylist(quarantined, SET_ASIDE_SCHEMA),
        paths.quarantine / "quarantined-00000.parquet",
    )
    counts = {
        "accepted": 4,
        "by_split": {"train": 3, "val": 1},
        "rejected": {"options_duplicate": 1, "refusal": 1, "text_leak": 1},
        "quarantined": 1,
        "duplicates_removed": 0,
    }
    paths.run_manifest.write_text(json.dumps({"model": "test-model", "counts": counts}))
    paths.plots.mkdir(parents=True)
    (paths.plots / "answer_letters.png").write_bytes(tiny_png())


def write_audio(root: Path) -> None:
    """Two short sine WAVs under ``root`` and a file beside it that must never be served."""
    for relative, hertz in CLIPS.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        t = np.arange(1600) / 16_000
        sf.write(path, 0.3 * np.sin(2 * np.pi * hertz * t), 16_000, subtype="PCM_16")
    (root.parent / "secret.txt").write_text("not for the viewer\n")


def tiny_png() -> bytes:
    """A valid 1x1 white PNG, so the card plot is a real image without matplotlib."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its size and mtime: to prove the viewer wrote nothing."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }
