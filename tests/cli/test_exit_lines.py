"""The CLI's last words: usage errors with typer's usage message (exit 2), and a resume
command that never shows URL credentials."""

from __future__ import annotations

import subprocess
import sys

import pytest

import reasonaqa.cli as cli


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "Usage:"),
        (["generate"], "Missing option '--manifest'"),
        (["generate", "--manifest", "m.jsonl", "-o", "out", "--no-such"], "No such option"),
        (["export", "hf"], "Missing argument"),
        (["no-such-command"], "No such command"),
    ],
)
def test_usage_errors_exit_2_with_the_usage_message(args: list[str], says: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reasonaqa", *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr


def test_the_resume_command_hides_url_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["reasonaqa", "generate", "--base-url", "http://u:sk-1@h:8000/v1", "-o", "my run"]
    monkeypatch.setattr(sys, "argv", [*argv, "--base-url=http://u:sk-2@h/v1"])
    assert cli._resume() == (
        "reasonaqa generate --base-url 'http://***@h:8000/v1' -o 'my run' "
        "'--base-url=http://***@h/v1'"
    )
