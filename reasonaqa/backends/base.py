"""The one protocol every LLM backend speaks, and the request/response types it carries.

A backend turns one chat request into one completion. Batching (vLLM) and bounded
concurrency (HTTP) are the backend's business; the engine only awaits ``complete``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

import orjson

Message = dict[str, str]


@dataclass(frozen=True)
class ChatRequest:
    """Everything that determines an LLM answer; its ``key`` is the journal's cache key."""

    messages: tuple[Message, ...]
    schema: dict[str, Any]
    schema_name: str
    max_tokens: int = 512
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int | None = None
    n: int = 1


def request_key(request: ChatRequest, model: str) -> str:
    """Hash of the exact request: the journal's cache key. On the hot path, so kept lean."""
    payload = (
        model,
        request.messages,
        _schema_digest(orjson.dumps(request.schema, option=orjson.OPT_SORT_KEYS)),
        request.max_tokens,
        request.temperature,
        request.top_p,
        request.seed,
        request.n,
    )
    return hashlib.sha256(orjson.dumps(payload)).hexdigest()


@lru_cache(maxsize=64)
def _schema_digest(schema_json: bytes) -> str:
    return hashlib.sha256(schema_json).hexdigest()


@dataclass
class Completion:
    """``n`` answers to one request, with why each stopped ("stop" or "length")."""

    texts: list[str]
    finish_reasons: list[str]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class BackendError(Exception):
    """A request that failed for good after the backend's own retries.

    ``reason`` is one of the quarantine codes: transport, timeout, length, schema.
    """

    def __init__(self, reason: str, message: str, raw: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.raw = raw


@runtime_checkable
class Backend(Protocol):
    """What the engine needs from an LLM."""

    name: str
    model: str
    accepts_seed: bool

    async def complete(self, request: ChatRequest) -> Completion: ...

    async def aclose(self) -> None: ...
