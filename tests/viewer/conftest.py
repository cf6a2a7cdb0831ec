"""Fixtures of the viewer tests: the run folder of ``viewer_folder`` and its clips."""

from __future__ import annotations

from pathlib import Path

import pytest

from reasonaqa.testing.viewer_folder import write_audio, write_run


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("viewer") / "run"
    write_run(root)
    return root


@pytest.fixture(scope="module")
def audio_root(run_folder: Path) -> Path:
    root = run_folder.parent / "audio"
    write_audio(root)
    return root
