"""The cached LLM: store first, backend second, counters kept."""

from __future__ import annotations

import asyncio

from reasonaqa.backends.base import ChatRequest
from reasonaqa.engine.llm import CachedLLM, MemoryResponses
from reasonaqa.engine.records import EngineCounters
from reasonaqa.testing.scripted import ScriptedBackend

REQUEST = ChatRequest(
    messages=({"role": "user", "content": "hi"},), schema={}, schema_name="McqItem"
)


def test_a_repeated_request_is_answered_from_the_store() -> None:
    backend, counters = ScriptedBackend(), EngineCounters()
    llm = CachedLLM(backend, MemoryResponses(), counters)
    keys: list[str] = []
    first = asyncio.run(llm(REQUEST, keys))
    second = asyncio.run(llm(REQUEST, keys))
    assert first == second and len(backend.requests) == 1
    assert counters.calls == 1 and counters.cache_hits == 1 and counters.prompt_tokens == 10
    assert keys[0] == keys[1]
