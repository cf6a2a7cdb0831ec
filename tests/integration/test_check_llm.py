"""``reasonaqa check --llm`` against the fault server over real HTTP: verdicts, and a rerun
that sends no request at all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from reasonaqa.testing.fake_content import SOUNDS, correct_option
from reasonaqa.testing.fault_server import MODEL_ID, read_log
from reasonaqa.testing.servers import fault_server

CAPTIONS = ["Rain falls on a metal roof while a dog barks in the distance."]


def _rows() -> list[dict[str, object]]:
    """MCQs whose answer is the server's pick (grounded) or not (ungrounded), half of them
    without captions (no grounding, votes only), a detailed question and a flawed MCQ."""
    rows: list[dict[str, object]] = []
    for n in range(8):
        options = list(SOUNDS[n * 3 : n * 3 + 4])
        right = correct_option(options)
        answer = right if n % 2 == 0 else next(o for o in options if o != right)
        rows.append(
            {
                "id": f"mcq{n}",
                "task": "mcq",
                "question": f"Which sound is heard most clearly in recording number {n}?",
                "options": options,
                "answer": answer,
                "captions": CAPTIONS if n < 4 else [],
            }
        )
    rows.append(
        {
            "id": "detail",
            "task": "detail",
            "question": "What is happening in this recording from a quiet street?",
            "answer": "Rain falls steadily on a metal roof while a dog barks far away.",
            "captions": CAPTIONS,
        }
    )
    rows.append({**rows[0], "id": "leak", "question": "What does the caption say is heard?"})
    return rows


def _check(inp: Path, out: Path, url: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "reasonaqa", "check", str(inp), "-o", str(out), "--llm",
        "--backend", "openai", "--base-url", url, "--model", MODEL_ID,
        "--grounding", "--audio-votes", "3", "--concurrency", "4",
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_llm_passes_through_the_fault_server_and_a_free_rerun(tmp_path: Path) -> None:
    rows = _rows()
    inp, out, log = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "server.jsonl"
    inp.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with fault_server(log=log) as url:
        first = _check(inp, out, url)
        asked = len(read_log(log))
        checked = [json.loads(line) for line in out.read_text().splitlines()]
        second = _check(inp, out, url)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert [row["id"] for row in checked] == [row["id"] for row in rows]
    by_id = {row["id"]: row for row in checked}
    for n in range(8):
        row = by_id[f"mcq{n}"]
        grounded = n % 2 == 0 or n >= 4  # rows without captions are not asked about grounding
        assert row["reasons"] == ([] if grounded else ["ungrounded"]), row
        assert row["passes"]["grounded"] == (None if n >= 4 else n % 2 == 0)
        if grounded:
            assert len(row["passes"]["audio_votes"]) == 3
            assert row["passes"]["audio_contribution"] in ("weak", "strong")
    assert by_id["detail"]["reasons"] == [] and by_id["detail"]["passes"]["grounded"] is True
    assert by_id["leak"]["reasons"] == ["text_leak"] and by_id["leak"]["passes"] is None
    # mcq: grounding for 4 rows + votes for the 6 grounded ones; the detail row: grounding.
    assert asked == 4 + 6 + 1
    assert len(read_log(log)) == asked, "the rerun answered everything from OUTPUT.cache"
    assert "LLM passes: 0 requests, 11 answered from the cache" in second.stdout
    assert (tmp_path / "out.jsonl.cache" / "_journal.sqlite").is_file()
