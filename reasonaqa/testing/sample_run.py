"""A finished run folder with plausible rows, written without an LLM: for report tests and benches.

MCQ letters are dealt with ``balance.balanced_letters`` per split, as the engine does;
every fifth MCQ is audio-weak, and a few imported captioning rows have no focus.
"""

from __future__ import annotations

import json
from pathlib import Path

from reasonaqa.config import DEFAULT_SHARD_ROWS
from reasonaqa.engine.counts import RunCounts
from reasonaqa.quality.balance import balanced_letters, place_answer
from reasonaqa.schemas import FOCUS_AREAS, LETTERS, empty_row
from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.shard_writer import ShardWriter

SOUNDS = (
    "a dog barking",
    "birds chirping",
    "rain on a tin roof",
    "a car engine idling",
    "people talking",
    "a door slamming",
    "church bells",
    "a passing train",
)
DUPLICATES = 11
REJECTED = {
    "refusal": 41,
    "text_leak": 17,
    "answer_much_longer": 9,
    "ungrounded": 23,
    "options_duplicate": 3,
}


def write_sample_run(
    root: Path, rows: dict[str, tuple[int, int]], shard_rows: int = DEFAULT_SHARD_ROWS
) -> None:
    """Write ``root/data/<split>-*.parquet`` and the run manifest (``RunPaths.run_manifest``).

    ``rows`` maps a split to its number of (MCQ, detailed) rows; each split also gets one
    captioning row per 50 MCQs, imported from the source dataset.
    """
    paths = RunPaths(Path(root))
    total = 0
    for split, (mcq, detail) in rows.items():
        with ShardWriter(paths.data, split, max_rows=shard_rows) as writer:
            ids = [f"{split}/{i}/mcq" for i in range(mcq)]
            letters = balanced_letters(ids, seed=0)
            for i, record_id in enumerate(ids):
                writer.write(_mcq_row(split, i, record_id, letters[record_id]))
            for i in range(detail):
                writer.write(_detail_row(split, i))
            for i in range(mcq // 50):
                writer.write(_caption_row(split, i))
        total += writer.rows_written
    counts = RunCounts(
        accepted_before_dedup=total + DUPLICATES,
        duplicates_removed=DUPLICATES,
        rejected=REJECTED,
        quarantined={"transport": 2},
    )
    manifest = {"counts": counts.to_json(), "model": "sample-model"}
    paths.run_manifest.write_text(json.dumps(manifest))


def _base(split: str, i: int, task: str, source: str) -> dict[str, object]:
    clip = f"Y{split}{i // 5:06d}"
    return empty_row(
        record_id=f"{split}/{i}/{task}",
        origin="synthetic",
        source=source,
        dataset="audiocaps",
        split=split,
        clip_id=clip,
        audio_path=f"AudioCapsLarger/{split}/{clip}.wav",
        captions=[f"{SOUNDS[i % 8].capitalize()} while {SOUNDS[(i + 3) % 8]} in the distance"],
        task=task,
        focus=FOCUS_AREAS[i % len(FOCUS_AREAS)],
    )


def _mcq_row(split: str, i: int, record_id: str, letter: str) -> dict[str, object]:
    answer = SOUNDS[i % 8]
    # Distractors of varied length, so the answer is the longest only some of the time.
    options = [answer, SOUNDS[(i + 1) % 8], SOUNDS[(i + 2) % 8], SOUNDS[(i + 5) % 8]]
    placed = place_answer(options, answer, letter, record_id)
    row = _base(split, i, "mcq", "AudioCaps-MCQ")
    weak = i % 5 == 0
    row.update(
        question=f"What is the main sound heard in clip {i}?",
        answer=answer,
        options=placed,
        answer_letter=LETTERS[placed.index(answer)],
        grounded=True,
        audio_contribution="weak" if weak else "strong",
        audio_votes=[answer, answer, SOUNDS[0]] if weak else [SOUNDS[3]] * 3,
    )
    return row


def _detail_row(split: str, i: int) -> dict[str, object]:
    row = _base(split, i, "detail", "AudioCaps-Detail")
    row.update(
        question="What is happening in the recording, and where might it take place?",
        answer=f"{SOUNDS[i % 8].capitalize()} can be heard"
        + " nearby" * (i % 30)
        + ", which suggests an outdoor scene.",
        grounded=True,
    )
    return row


def _caption_row(split: str, i: int) -> dict[str, object]:
    row = _base(split, i, "caption", "AudioCaps")
    row.update(
        origin="existing",
        focus=None,
        question="caption first audio",
        answer=f"The audio 1 is {SOUNDS[i % 8]}.",
    )
    return row
