"""A non-editable install runs: prompts, the card's plots and every default come from the package.

``pip install --no-deps --target`` builds and installs a wheel of this checkout (copied to a
temporary folder first, so the build leaves nothing in the checkout); then ``generate``,
``stats`` and ``export hf`` run from a folder outside the checkout against the fault server,
importing the installed package and nothing else of ours.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from reasonaqa.testing.fault_server import MODEL_ID
from reasonaqa.testing.servers import fault_server

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(
        REPO / "reasonaqa", source / "reasonaqa", ignore=shutil.ignore_patterns("__pycache__")
    )
    target = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(source)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return target


def _reasonaqa(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(target), "HF_DATASETS_CACHE": str(cwd / ".hf")}
    return subprocess.run(
        [sys.executable, "-m", "reasonaqa", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_installed_package_is_the_one_imported(installed: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    found = subprocess.run(
        [sys.executable, "-c", "import reasonaqa, reasonaqa.config as c; "
         "print(reasonaqa.__file__); print(c.DEFAULT_PROMPTS_DIR)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert all(Path(path).is_relative_to(installed) for path in found)
    assert sorted(p.name for p in Path(found[1]).glob("*.j2")) == sorted(
        p.name for p in (REPO / "reasonaqa/prompts/templates").glob("*.j2")
    )


def test_generate_stats_and_export_from_a_wheel_install(
    installed: Path, tmp_path: Path, sample_manifest: Path
) -> None:
    manifest = tmp_path / "sample.jsonl"
    shutil.copy2(sample_manifest, manifest)
    with fault_server() as url:
        result = _reasonaqa(
            installed, tmp_path, "generate", "--manifest", manifest.name, "-o", "run",
            "--backend", "openai", "--base-url", url, "--model", MODEL_ID, "--no-progress",
            "--limit", "12",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(pd.read_parquet(tmp_path / "run")) > 0
    result = _reasonaqa(installed, tmp_path, "stats", "run")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "_card" / "plots" / "composition.png").is_file()
    result = _reasonaqa(installed, tmp_path, "export", "hf", "run", "-o", "hf")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "hf" / "README.md").is_file()
