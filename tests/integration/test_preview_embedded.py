"""``reasonaqa preview`` on the bundled sample with the embedded model (real llama.cpp)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
# Four items cover three clips and both tasks; the 135M model on two shared cores needs up
# to a few minutes per item, so the default eight would take too long for the suite.
ITEMS = 4


def test_preview_shows_clips_tasks_verdicts_and_messages(
    tmp_path: Path, sample_manifest: Path
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "reasonaqa", "preview", "-m", str(sample_manifest),
         "--items", str(ITEMS), "--audio-votes", "0", "--prompt-chars", "120"],
        capture_output=True, text=True, timeout=1500, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert not list(tmp_path.iterdir()), "preview leaves nothing behind"
    out = proc.stdout
    headers = re.findall(rf"^item \d+/{ITEMS}: (\S+/.+?)  split (\S+)  task (\w+)", out, re.M)
    assert len(headers) == ITEMS
    assert len({clip for clip, _, _ in headers}) >= 3
    assert {task for _, _, task in headers} == {"mcq", "detail"}
    items = out.split("─" * 78)[1:]
    for item in items:
        assert "captions:" in item and "generation prompt" in item and "[...]" in item
        status = re.search(r"^status: (ACCEPTED|REJECTED|QUARANTINED)(.*)$", item, re.MULTILINE)
        assert status, item
        if status[1] != "ACCEPTED":
            assert re.match(r" \(\w+\): \S", status[2]), "a set-aside item says why"
        if "\nparsed:\n" in item:  # a valid item: every check is listed with its verdict
            assert "checks:" in item and "pass: " in item
        else:
            assert "parsed: not a valid" in item or "generation failed" in item
