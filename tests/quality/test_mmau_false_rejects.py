"""bench/mmau_false_rejects.py on small files shaped like MMAU's (written here, not MMAU's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "mmau_false_rejects.py"


def row(question: str, choices: list[str], answer: str, task: str = "sound") -> dict[str, object]:
    return {
        "id": question[:8],
        "question": question,
        "choices": choices,
        "answer": answer,
        "task": task,
    }


def run(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, env=env
    )


def test_counts_sound_questions_and_rejections_per_reason(tmp_path: Path) -> None:
    path = tmp_path / "mmau.json"
    rows = [
        row("Which animal is barking in the clip?", ["Dog", "Cat", "Cow", "Goat"], "Dog"),
        row("What colour is the car that honks?", ["Red", "Blue", "White", "Black"], "Red"),
        row("How many times does it ring?", ["Twice", "Two times", "Once", "Four"], "Once"),
        row("Who is speaking?", ["A man", "A woman", "A child", "A robot"], "A man", "speech"),
    ]
    path.write_text(json.dumps(rows))
    done = run(path)
    assert done.returncode == 0, done.stderr
    assert "sound questions: 3; rejected 2 (66.7%)" in done.stdout
    assert "visual" in done.stdout and "options_paraphrase" in done.stdout


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = run(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps([{"task": "sound", "id": "x", "question": "q", "answer": "a"}]))
    no_choices = run(broken)
    for done in (missing, no_choices):
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "row 1" in no_choices.stderr and "'choices'" in no_choices.stderr
