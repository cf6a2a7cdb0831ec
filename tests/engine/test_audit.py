"""``check`` decides what ``generate`` decided: run generate on a mix of good and flawed
items (scripted backend, second passes on), then check its accepted and rejected rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from reasonaqa.backends.base import ChatRequest
from reasonaqa.config import GenerateConfig, LLMSettings
from reasonaqa.dataset.qa_files import read_qa_file
from reasonaqa.engine.audit import audit
from reasonaqa.engine.generate import generate
from reasonaqa.quality.dedup import DUPLICATE_REASONS
from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.scripted import OPTIONS, QUESTIONS, ScriptedBackend, valid_reply


def _flawed(item: dict[str, Any], index: int) -> dict[str, Any]:
    """Every few items one flaw, each a different check's."""
    flaw = index % 6
    if flaw == 1:
        item["question"] = (
            "According to the caption, " + item["question"][0].lower() + item["question"][1:]
        )
    elif flaw == 2 and "options" in item:
        item["options"][0] = item["answer"] = "a barking dog running around the old garden"
    elif flaw == 3 and "options" in item:
        item["options"][1] = "a dog"  # right too when the answer is "a barking dog"
        item["options"][0] = item["answer"] = "a barking dog"
    elif flaw == 4:
        item["question"] = "Which animal?"
    return item


def _judge_agrees(request: ChatRequest) -> bool:
    """The grounding judge disagrees about questions that begin with 'What'."""
    text = request.messages[-1]["content"]
    return not any(q.startswith("What") and q in text for q in QUESTIONS)


def script(request: ChatRequest, index: int) -> str:
    if request.schema_name == "support":
        return json.dumps({"supported": _judge_agrees(request)})
    if request.schema_name == "choice":
        grounding = "listeners wrote" in request.messages[-1]["content"]
        answer = OPTIONS[0] if not grounding or _judge_agrees(request) else OPTIONS[1]
        return json.dumps({"answer": answer})
    return json.dumps(_flawed(json.loads(valid_reply(request, index)), index))


def _decisions(run: Path) -> pd.DataFrame:
    """generate's verdict per record: [] for accepted rows, [reason] for rejected ones."""
    accepted = pd.read_parquet(run).assign(reason=None)
    rejected = pd.read_parquet(RunPaths(run).rejected)
    rows = pd.concat([accepted, rejected], ignore_index=True)
    return rows[~rows["reason"].isin(list(DUPLICATE_REASONS))].set_index("record_id")


def _checked(path: Path, out: Path, settings: LLMSettings | None, backend=None) -> pd.DataFrame:
    audit(read_qa_file(path), out, settings, backend)
    return pd.read_json(out, lines=True).set_index("record_id")


def test_check_reasons_equal_generate_decisions(config: GenerateConfig, tmp_path: Path) -> None:
    run_config = config.model_copy(
        update={"tasks": ["mcq", "detail"], "per_caption": 3, "grounding": True, "audio_votes": 2}
    )
    result = generate(run_config, ScriptedBackend(script))
    decided = _decisions(run_config.output)
    reasons = set(decided["reason"].dropna())
    assert result.accepted > 0 and {"text_leak", "too_short", "ungrounded"} <= reasons
    assert {"answer_much_longer", "distractor_also_correct"} <= reasons

    settings = LLMSettings(seed=run_config.seed, grounding=True, audio_votes=2)
    for part in (run_config.output, RunPaths(run_config.output).rejected):
        backend = ScriptedBackend(script)
        checked = _checked(part, tmp_path / f"{part.name}.jsonl", settings, backend)
        for record_id, row in checked.iterrows():
            if record_id not in decided.index:
                continue  # removed as a duplicate at finalize, which check does not judge
            want = decided.loc[record_id]
            first = row["reasons"][0] if row["reasons"] else None
            assert first == want["reason"], (record_id, row["reasons"], want["reason"])
            if first is None and want["task"] == "mcq":
                assert row["passes"]["audio_contribution"] == want["audio_contribution"]
        # A rerun answers every judge from OUTPUT.cache: no request at all.
        again = ScriptedBackend(script)
        _checked(part, tmp_path / f"{part.name}.jsonl", settings, again)
        assert again.requests == [] and backend.requests


def test_without_llm_the_rules_alone_decide(config: GenerateConfig, tmp_path: Path) -> None:
    run_config = config.model_copy(update={"tasks": ["mcq", "detail"], "per_caption": 3})
    generate(run_config, ScriptedBackend(script))
    decided = _decisions(run_config.output)
    checked = pd.concat(
        [
            _checked(run_config.output, tmp_path / "a.jsonl", None),
            _checked(RunPaths(run_config.output).rejected, tmp_path / "r.jsonl", None),
        ]
    )
    for record_id, want in decided.iterrows():
        found = checked.loc[record_id, "reasons"]
        assert (found[0] if found else None) == want["reason"]
    assert "passes" not in checked.columns
