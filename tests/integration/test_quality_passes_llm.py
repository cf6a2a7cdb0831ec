"""The grounding and audio-dependence passes end to end against a real llama.cpp server."""

from __future__ import annotations

import asyncio

import pytest

from reasonaqa.backends.openai import OpenAIBackend
from reasonaqa.config import DEFAULT_PROMPTS_DIR, LLMSettings
from reasonaqa.engine.judges import SecondPasses
from reasonaqa.engine.llm import CachedLLM, MemoryResponses
from reasonaqa.engine.records import EngineCounters
from reasonaqa.prompts.store import TemplateStore
from reasonaqa.schemas import Clip, DetailItem, McqItem
from reasonaqa.testing.servers import llama_server

pytestmark = pytest.mark.slow

CLIP = Clip(
    dataset="clotho",
    split="evaluation",
    clip_id="dog.wav",
    audio_path="dog.wav",
    captions=[
        "A dog barks loudly three times in a quiet backyard.",
        "A large dog barks while birds sing softly.",
    ],
    source_rows=["1"],
)
RECORD_ID = "r1"
MCQ = McqItem(
    question="Which animal makes the loudest sound in the clip?",
    options=["a dog", "a cat", "a cow", "a horse"],
    answer="a dog",
    focus="sources",
)
DETAIL = DetailItem(
    question="What is heard in the clip?",
    answer="A dog barks loudly three times while birds sing softly.",
    focus="sound_events",
)


def test_grounding_and_audio_dependence_passes_run_against_llama_cpp() -> None:
    async def run(url: str) -> tuple[bool, bool, list[str], list[str], int]:
        backend = OpenAIBackend(url, "smollm2", concurrency=1, timeout_s=120)
        counters = EngineCounters()
        config = LLMSettings(audio_votes=3, grounding=True)
        passes = SecondPasses(
            config,
            TemplateStore(DEFAULT_PROMPTS_DIR),
            CachedLLM(backend, MemoryResponses(), counters),
            counters,
        )
        keys: list[str] = []
        captions = list(CLIP.captions)
        try:
            grounded_mcq = await passes.grounded(RECORD_ID, captions, MCQ, keys)
            grounded_detail = await passes.grounded(RECORD_ID, captions, DETAIL, keys)
            votes = await passes.audio_votes(RECORD_ID, MCQ, keys)
        finally:
            await backend.aclose()
        return grounded_mcq, grounded_detail, votes, keys, counters.calls

    with llama_server() as url:
        grounded_mcq, grounded_detail, votes, keys, calls = asyncio.run(run(url))
    assert isinstance(grounded_mcq, bool) and isinstance(grounded_detail, bool)
    assert len(votes) == 3, "three no-caption votes, fanned out because llama.cpp ignores n"
    assert all(vote in [*MCQ.options, ""] for vote in votes)
    assert len(keys) == 3 and calls == 3
