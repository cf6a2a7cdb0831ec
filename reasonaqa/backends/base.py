"""The one protocol every LLM backend speaks, and the request/response types it carries.

A backend turns one chat request into one completion. Batching (vLLM) and bounded
concurrency (HTTP) are the backend's business; the engine only awaits ``complete``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
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
        _schema_digest(request.schema),
        request.max_tokens,
        request.temperature,
        request.top_p,
        request.seed,
        request.n,
    )
    return hashlib.blake2b(orjson.dumps(payload), digest_size=16).hexdigest()


# Requests share a few schema objects: digest each once. The entry keeps the schema alive,
# so its id cannot be reused by another object while it is cached.
_SCHEMA_DIGESTS: dict[int, tuple[dict[str, Any], str]] = {}


def _schema_digest(schema: dict[str, Any]) -> str:
    cached = _SCHEMA_DIGESTS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    digest = hashlib.sha256(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)).hexdigest()
    if len(_SCHEMA_DIGESTS) < 256:
        _SCHEMA_DIGESTS[id(schema)] = (schema, digest)
    return digest


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
