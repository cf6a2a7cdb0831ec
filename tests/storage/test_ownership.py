"""Folders that are not ours are never written into; exports never touch their source."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import pytest

from reasonaqa.errors import InputError
from reasonaqa.storage.layout import OWNER_MARKER
from reasonaqa.storage.ownership import check_export_target, claim_folder, read_marker


def test_a_new_folder_is_created_and_marked(tmp_path: Path) -> None:
    claim_folder(tmp_path / "run", "run")
    marker = read_marker(tmp_path / "run")
    assert marker is not None and marker.kind == "run"
    claim_folder(tmp_path / "run", "run")  # ours: claiming again is fine


def test_an_empty_folder_is_taken(tmp_path: Path) -> None:
    claim_folder(tmp_path, "build")
    assert json.loads((tmp_path / OWNER_MARKER).read_text())["kind"] == "build"


def test_a_users_folder_is_refused_untouched(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mine.parquet").write_bytes(b"user data")
    with pytest.raises(InputError, match="not written by reasonaqa"):
        claim_folder(tmp_path, "run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_another_kind_is_refused(tmp_path: Path) -> None:
    claim_folder(tmp_path, "build")
    with pytest.raises(InputError, match="kind 'build', not 'run'"):
        claim_folder(tmp_path, "run")


def test_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("mine")
    with pytest.raises(InputError, match="is a file"):
        claim_folder(target, "run")
    assert target.read_text() == "mine"


def test_a_run_from_before_markers_is_adopted(tmp_path: Path) -> None:
    with contextlib.closing(sqlite3.connect(tmp_path / "_journal.sqlite")) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    claim_folder(tmp_path, "run")
    assert read_marker(tmp_path) is not None


def test_a_file_named_like_a_journal_does_not_make_a_run(tmp_path: Path) -> None:
    (tmp_path / "_journal.sqlite").write_text("my notes")
    with pytest.raises(InputError, match="not written by reasonaqa"):
        claim_folder(tmp_path, "run")
    assert read_marker(tmp_path) is None


def test_a_build_from_before_markers_is_adopted(tmp_path: Path) -> None:
    (tmp_path / "_synthetic").mkdir()
    claim_folder(tmp_path, "build")
    assert read_marker(tmp_path) is not None


def test_a_broken_marker_is_refused(tmp_path: Path) -> None:
    (tmp_path / OWNER_MARKER).write_text("{")
    with pytest.raises(InputError, match="unreadable reasonaqa marker"):
        claim_folder(tmp_path, "run")


@pytest.mark.parametrize("out", [".", "..", "data", "../.."])
def test_an_export_never_targets_its_source_or_around_it(tmp_path: Path, out: str) -> None:
    source = tmp_path / "a" / "run"
    (source / "data").mkdir(parents=True)
    with pytest.raises(InputError, match="source"):
        check_export_target(source, source / out, "export-hf", overwrite=True)


def test_an_export_replaces_only_its_own_kind_and_only_when_asked(tmp_path: Path) -> None:
    source, out = tmp_path / "run", tmp_path / "hf"
    source.mkdir()
    check_export_target(source, out, "export-hf", overwrite=False)  # new: fine
    out.mkdir()
    check_export_target(source, out, "export-hf", overwrite=False)  # empty: fine
    claim_folder(out, "export-hf")
    with pytest.raises(InputError, match="--overwrite"):
        check_export_target(source, out, "export-hf", overwrite=False)
    check_export_target(source, out, "export-hf", overwrite=True)
    with pytest.raises(InputError, match="not 'export-mellow'"):
        check_export_target(source, out, "export-mellow", overwrite=True)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not written by reasonaqa"):
        check_export_target(source, tmp_path / "mine", "export-hf", overwrite=True)
