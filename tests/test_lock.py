"""The install lock (constraints.txt) agrees with pyproject.toml and the tested environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LOCK_SCRIPT = REPO / "scripts" / "lock.py"


def _check(pyproject: Path, constraints: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(LOCK_SCRIPT), "--check"]
    command += ["--pyproject", str(pyproject), "--constraints", str(constraints)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_the_lock_is_fresh() -> None:
    result = _check(REPO / "pyproject.toml", REPO / "constraints.txt")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ('"tqdm>=4.66,<5"', '"tqdm>=4.66"', "tqdm>=4.66 has no upper bound"),
        ('"tqdm>=4.66,<5"', '"tqdm>=4.66,<5", "rich-click>=1,<2"', "rich-click is not locked"),
        ('"tqdm>=4.66,<5"', '"tqdm>=5,<6"', "outside tqdm<6,>=5"),
        ('vllm = ["vllm>=0.10.2,<0.33"]', 'vllm = ["vllm>=0.10.2"]', "vllm>=0.10.2 has no upper"),
    ],
)
def test_a_stale_lock_fails(tmp_path: Path, old: str, new: str, says: str) -> None:
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert old in text
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(text.replace(old, new), encoding="utf-8")
    result = _check(pyproject, REPO / "constraints.txt")
    assert result.returncode == 1 and says in result.stderr, result.stderr


def test_a_lock_unlike_the_environment_fails(tmp_path: Path) -> None:
    lock = (REPO / "constraints.txt").read_text(encoding="utf-8")
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(lock.replace("\ntqdm==", "\ntqdm==4.66.0\n# was tqdm=="), "utf-8")
    result = _check(REPO / "pyproject.toml", constraints)
    assert result.returncode == 1 and "tqdm is 4." in result.stderr, result.stderr
