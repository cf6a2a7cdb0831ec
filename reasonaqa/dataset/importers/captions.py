"""Captioning rows: one QA row per human caption of a manifest clip."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from reasonaqa.dataset.importers.identity import UniqueRecordIds
from reasonaqa.schemas import Clip, empty_row
from reasonaqa.sources.identity import clip_identity

CAPTION_QUESTION = "Describe the audio."
CAPTION_SOURCES = {"audiocaps": "AudioCaps-captions", "clotho": "Clotho-captions"}


def caption_rows(
    clips: Iterable[Clip], max_per_clip: int | None = None
) -> Iterator[dict[str, Any]]:
    """Yield a captioning row per caption, at most ``max_per_clip`` per clip when given.

    ReasonAQA keeps one caption per AudioCaps validation clip but all five per test clip,
    hence the cap is a recipe setting rather than a constant.
    """
    ids = UniqueRecordIds()
    for clip in clips:
        source = CAPTION_SOURCES[clip.dataset]
        identity = clip_identity(clip)
        for index, caption in enumerate(clip.captions[:max_per_clip]):
            yield empty_row(
                record_id=ids(source, identity, index, caption),
                origin="existing",
                source=source,
                dataset=clip.dataset,
                split=clip.split,
                clip_id=clip.clip_id,
                audio_path=clip.audio_path,
                captions=list(clip.captions),
                caption_index=index,
                task="caption",
                question=CAPTION_QUESTION,
                answer=caption,
            )
