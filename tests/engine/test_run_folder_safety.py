"""A run folder is ours, secrets stay out of it, and retry-failed checks before it changes it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from reasonaqa.backends.base import BackendError
from reasonaqa.config import GenerateConfig
from reasonaqa.engine.generate import generate
from reasonaqa.engine.journal import Journal
from reasonaqa.engine.session import release_quarantined
from reasonaqa.errors import InputError
from reasonaqa.storage.atomic import FILE_MODE, FOLDER_MODE
from reasonaqa.storage.folder_lock import FolderLock
from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.scripted import ScriptedBackend

SECRET = "sk-very-secret-key"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_generate_into_a_users_folder_deletes_and_writes_nothing(config: GenerateConfig) -> None:
    paths = RunPaths(config.output)
    for folder in (paths.data, paths.rejected, paths.quarantine):
        folder.mkdir(parents=True)
        (folder / "mine.parquet").write_bytes(b"the user's rows")
    paths.run_manifest.write_text('{"mine": true}')
    before = _files(paths.root)
    backend = ScriptedBackend()
    with pytest.raises(InputError, match="not written by reasonaqa"):
        generate(config, backend)
    assert _files(paths.root) == before and not backend.requests


def test_url_credentials_are_never_stored(config: GenerateConfig) -> None:
    url = f"http://user:{SECRET}@127.0.0.1:9/v1?api-key={SECRET}"
    config = config.model_copy(update={"base_url": url})
    generate(config, ScriptedBackend())
    paths = RunPaths(config.output)
    saved = json.loads(paths.run_manifest.read_text())["config"]["base_url"]
    assert saved == "http://***@127.0.0.1:9/v1?api-key=***"
    for path in paths.root.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_retry_failed_with_a_stored_credential_url_asks_for_it(config: GenerateConfig) -> None:
    config = config.model_copy(update={"base_url": f"http://u:{SECRET}@127.0.0.1:9/v1"})
    generate(config, ScriptedBackend(lambda r, i: BackendError("transport", "refused")))
    with pytest.raises(InputError, match="--base-url"):
        release_quarantined(config.output, {})
    assert _quarantined(config.output) == 6
    url = "http://u:key@127.0.0.1:9/v1"
    released, count = release_quarantined(config.output, {"base_url": url})
    assert count == 6 and released.base_url == url


def test_paths_are_saved_absolute(
    config: GenerateConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = GenerateConfig.model_validate(
        config.model_dump() | {"manifest": config.manifest.name, "prompts_dir": "."}
    )
    assert relative.manifest == config.manifest and relative.prompts_dir == tmp_path


def test_retry_failed_checks_everything_before_changing_the_journal(
    config: GenerateConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate(config, ScriptedBackend(lambda r, i: BackendError("transport", "refused")))
    # A run saved by an older version, with its manifest path relative to where it ran.
    journal = Journal(RunPaths(config.output).journal)
    saved = json.loads(journal.get_meta("config") or "{}")
    journal.set_meta("config", json.dumps(saved | {"manifest": config.manifest.name}))
    journal.close()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(InputError, match="manifest is gone"):
        release_quarantined(config.output, {})
    assert _quarantined(config.output) == 6


def _quarantined(run: Path) -> int:
    journal = Journal(RunPaths(run).journal)
    try:
        return len(journal.quarantined())
    finally:
        journal.close()


def test_a_bad_manifest_line_leaves_no_run_folder(config: GenerateConfig) -> None:
    with config.manifest.open("a", encoding="utf-8") as fh:
        fh.write("{not a clip}\n")
    with pytest.raises(InputError, match="row 4"):
        generate(config, ScriptedBackend())
    assert not config.output.exists()


def test_marker_and_lock_follow_the_umask(config: GenerateConfig) -> None:
    generate(config, ScriptedBackend())
    paths = RunPaths(config.output)
    assert {stat.S_IMODE(p.stat().st_mode) for p in (paths.marker, paths.lock)} == {FILE_MODE}
    assert stat.S_IMODE(paths.root.stat().st_mode) == FOLDER_MODE


def test_retry_failed_on_a_run_in_use_changes_nothing(config: GenerateConfig) -> None:
    generate(config, ScriptedBackend(lambda r, i: BackendError("transport", "refused")))
    holder = FolderLock(RunPaths(config.output).lock)  # flock: another open file conflicts
    holder.acquire()
    try:
        with pytest.raises(InputError, match=f"in use by PID {os.getpid()}"):
            release_quarantined(config.output, {})
    finally:
        holder.release()
    assert _quarantined(config.output) == 6
