"""Helpers for tests that drive whole runs, as a subprocess, against the fault server."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pandas as pd

from reasonaqa.config import GenerateConfig
from reasonaqa.engine.journal import Journal
from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.fault_server import MODEL_ID


def generate_command(manifest: Path, out: Path, url: str, *options: str) -> list[str]:
    """``reasonaqa generate`` against an OpenAI-compatible test server, plus ``options``."""
    return [
        sys.executable, "-m", "reasonaqa", "generate", "--manifest", str(manifest),
        "-o", str(out), "--backend", "openai", "--base-url", url, "--model", MODEL_ID,
        "--no-progress", *options,
    ]  # fmt: skip


def fault_server_config(manifest: Path, out: Path, url: str, **settings: object) -> GenerateConfig:
    """The in-process twin of ``generate_command``: a run against a test server at ``url``."""
    values: dict[str, object] = {
        "manifest": manifest,
        "output": out,
        "backend": "openai",
        "base_url": url,
        "model": MODEL_ID,
        "progress": False,
    }
    return GenerateConfig.model_validate(values | settings)


def comparable_rows(run: Path) -> pd.DataFrame:
    """A run's final rows in record-id order, without the creation time (which always differs)."""
    frame = pd.read_parquet(run).drop(columns=["created_at"])
    return frame.sort_values("record_id").reset_index(drop=True)


def committed_ids(run: Path) -> set[str]:
    """Record ids in a run's journal; empty before the journal (or its tables) exists."""
    path = RunPaths(run).journal
    if not path.exists():
        return set()
    try:
        journal = Journal(path)
    except sqlite3.OperationalError:  # the writer holds its lock right now: nothing new yet
        return set()
    try:
        return journal.record_ids()
    finally:
        journal.close()
