"""The cached LLM: every call asks the response store first and the backend second.

The store is the journal in a local run, or a Ray worker's memory (``MemoryResponses``)
whose answers the driver journals, so a resumed run pays for no call twice.
"""

from __future__ import annotations

from typing import Protocol

from reasonaqa.backends.base import Backend, BackendError, ChatRequest, Completion, request_key
from reasonaqa.engine.records import EngineCounters
from reasonaqa.schemas import QuarantineReason


class ItemFailure(Exception):
    """No valid item could be had: ``reason`` is the quarantine code, ``raw`` the last reply."""

    def __init__(self, reason: QuarantineReason, raw: str | None, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.raw = raw
        self.detail = detail  # the validator's error or the server's words, when there are any


class ResponseStore(Protocol):
    """Where answers are cached: the journal, or a Ray worker's memory until the driver commits."""

    def get_response(self, key: str) -> Completion | None: ...

    def put_response(self, key: str, completion: Completion) -> None: ...


class MemoryResponses:
    """A worker-side store: answers pass back to the driver, which journals them."""

    def __init__(self) -> None:
        self.new: dict[str, Completion] = {}

    def get_response(self, key: str) -> Completion | None:
        return self.new.get(key)

    def put_response(self, key: str, completion: Completion) -> None:
        self.new[key] = completion


class CachedLLM:
    """Store first, backend second; remembers which request keys an item used."""

    def __init__(self, backend: Backend, store: ResponseStore, counters: EngineCounters) -> None:
        self.backend = backend
        self.store = store
        self.counters = counters
        self._retries_before = _backend_retries(backend)

    async def __call__(self, request: ChatRequest, keys: list[str]) -> Completion:
        key = request_key(request, self.backend.model)
        keys.append(key)
        cached = self.store.get_response(key)
        if cached is not None:
            self.counters.cache_hits += 1
            return cached
        self.counters.in_flight += 1
        try:
            completion = await self.backend.complete(request)
        except BackendError as err:
            raise ItemFailure(err.reason, err.raw, str(err)) from err  # type: ignore[arg-type]
        finally:
            self.counters.in_flight -= 1
            self.counters.transport_retries = _backend_retries(self.backend) - self._retries_before
        self.counters.calls += 1
        self.counters.prompt_tokens += completion.prompt_tokens
        self.counters.completion_tokens += completion.completion_tokens
        self.store.put_response(key, completion)
        return completion


def _backend_retries(backend: Backend) -> int:
    """Retries the backend made on its own so far (HTTP backends count them; others don't)."""
    return int(getattr(getattr(backend, "stats", None), "retries", 0))
