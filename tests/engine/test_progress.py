"""The progress bar and ``_progress.json``: plain labels, counts in step with the bar."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from reasonaqa.engine.progress import Progress
from reasonaqa.engine.records import EngineCounters


def test_the_bar_and_the_file_say_the_same_in_plain_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    earlier = Counter({("accepted", None): 2})  # a resumed run: two records from before
    counters = EngineCounters(calls=4, in_flight=3, transport_retries=1, prompt_tokens=1_000_000)
    usage = {"llm_calls": 10, "prompt_tokens": 1_000_000}  # earlier sessions' usage
    progress = Progress(tmp_path / "p.json", 8, earlier, usage, counters, (2.0, None), True)
    progress.record("accepted", None)
    progress.record("rejected", "refusal")
    progress.record("quarantined", "timeout")
    progress.close("interrupted")

    bar = capsys.readouterr().err.split("\r")[-1]
    assert "5/8 items, accepted 3, rejected 1, quarantined 1, requests in flight 3" in bar
    assert "retries 1" in bar and "tokens/s" in bar and "cost $4.00 of ~$" in bar
    assert "ETA " in bar
    snap = json.loads((tmp_path / "p.json").read_text())
    assert snap["state"] == "interrupted" and snap["requests_in_flight"] == 3
    counts = snap["counts"]
    assert counts["generated"] == 5 and counts["accepted_before_dedup"] == 3
    assert counts["rejected"] == {"refusal": 1} and counts["quarantined"] == {"timeout": 1}
    assert counts["llm_calls"] == 14 and counts["prompt_tokens"] == 2_000_000
    assert counts["duplicates_removed"] is None and counts["shipped"] is None
    assert snap["cost_usd"]["spent"] == 4.0
    # This session spent $2 on 3 items; 3 items remain.
    assert snap["cost_usd"]["projected"] == pytest.approx(6.0)
