"""``reasonaqa preview`` on the bundled sample with the embedded model (real llama.cpp)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_preview_shows_clips_tasks_verdicts_and_messages(
    tmp_path: Path, sample_manifest: Path
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "reasonaqa", "preview", "-m", str(sample_manifest),
         "--audio-votes", "1", "--prompt-chars", "120"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert not list(tmp_path.iterdir()), "preview leaves nothing behind"
    out = proc.stdout
    headers = re.findall(r"^item \d+/8: (\S+/.+?)  split (\S+)  task (\w+)", out, re.MULTILINE)
    assert len(headers) == 8
    assert len({clip for clip, _, _ in headers}) >= 3
    assert {task for _, _, task in headers} == {"mcq", "detail"}
    items = out.split("─" * 78)[1:]
    for item in items:
        assert "captions:" in item and "generation prompt" in item and "[...]" in item
        status = re.search(r"^status: (ACCEPTED|REJECTED|QUARANTINED)(.*)$", item, re.MULTILINE)
        assert status, item
        if status[1] != "ACCEPTED":
            assert re.match(r" \(\w+\): \S", status[2]), "a set-aside item says why"
        if "parsed:" in item:
            assert "checks:" in item and "pass: " in item
