"""``reasonaqa export`` never deletes what it did not write: the CLI end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reasonaqa.dataset.merge import PartStream, merge_parts, tables_from_rows
from reasonaqa.dataset.splits import SplitGuard
from reasonaqa.schemas import empty_row


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "reasonaqa", "export", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def run(tmp_path: Path) -> Path:
    row = empty_row(
        record_id="r1", origin="synthetic", source="AudioCaps-MCQ", dataset="audiocaps",
        split="test", clip_id="c1", audio_path="Yc1.wav", captions=["A dog barks."],
        task="detail", question="What barks?", answer="A dog barks.",
    )  # fmt: skip
    root = tmp_path / "outputs" / "run"
    merge_parts([PartStream("rows", lambda: tables_from_rows([row]))], root, guard=SplitGuard())
    (root / "_journal.sqlite").write_bytes(b"the run's journal")
    return root


@pytest.mark.parametrize("kind", ["hf", "mellow"])
@pytest.mark.parametrize("target", ["run", "parent", "inside"])
def test_an_export_onto_or_around_its_source_is_refused(run: Path, kind: str, target: str) -> None:
    out = {"run": run, "parent": run.parent, "inside": run / "export"}[target]
    before = _files(run.parent)
    result = _cli(kind, run, "-o", out, "--overwrite")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "source" in result.stderr, result.stderr
    assert _files(run.parent) == before


@pytest.mark.parametrize("kind", ["hf", "mellow"])
def test_an_existing_folder_of_the_users_is_refused(run: Path, tmp_path: Path, kind: str) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("months of work")
    result = _cli(kind, run, "-o", mine, "--overwrite")
    assert result.returncode == 2
    assert "not written by reasonaqa" in result.stderr and result.stderr.count("\n") == 1
    assert _files(mine) == {"thesis.tex": b"months of work"}


@pytest.mark.parametrize("kind", ["hf", "mellow"])
def test_our_own_export_is_replaced_only_with_overwrite(
    run: Path, tmp_path: Path, kind: str
) -> None:
    out = tmp_path / "export"
    assert _cli(kind, run, "-o", out).returncode == 0
    first = _files(out)
    again = _cli(kind, run, "-o", out)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert _files(out) == first
    assert _cli(kind, run, "-o", out, "--overwrite").returncode == 0
    assert set(_files(out)) == set(first)
