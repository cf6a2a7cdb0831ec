"""Helpers for the backend tests, imported by name: pytest puts this folder on sys.path."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from reasonaqa.backends.base import ChatRequest
from reasonaqa.backends.openai import (
    DEFAULT_MAX_PROMPT_BYTES,
    DEFAULT_MAX_REPLY_BYTES,
    OpenAIBackend,
)
from reasonaqa.schemas import McqItem, llm_json_schema
from reasonaqa.testing.fault_server import MODEL_ID, FaultPlan, FaultServer, serving

MCQ_SCHEMA = llm_json_schema(McqItem)


def mcq_request(index: int = 0, *, user: str | None = None) -> ChatRequest:
    user = user or f"Descriptions of the clip:\n- A dog barks twice, take {index}\n"
    system = {"role": "system", "content": "You write audio QA."}
    return ChatRequest(
        messages=(system, {"role": "user", "content": user}),
        schema=MCQ_SCHEMA,
        schema_name="mcq",
        max_tokens=256,
        seed=index,
    )


@asynccontextmanager
async def served(
    rates: Mapping[str, float] | None = None,
    *,
    api_key: str | None = None,
    models_endpoint: bool = True,
    huge_bytes: int = 50 * 1024**2,
) -> AsyncIterator[tuple[str, FaultServer]]:
    """A fault server on 127.0.0.1 in this event loop: its ``/v1`` URL and the server."""
    server = FaultServer(
        FaultPlan(rates=dict(rates or {})),
        retry_after_s=0,
        huge_bytes=huge_bytes,
        api_key=api_key,
        models_endpoint=models_endpoint,
    )
    async with serving(server) as url:
        yield url, server


def quick_backend(
    url: str,
    *,
    model: str = MODEL_ID,
    api_key: str | None = "",
    max_attempts: int = 2,
    timeout_s: float = 10.0,
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    max_prompt_bytes: int = DEFAULT_MAX_PROMPT_BYTES,
) -> OpenAIBackend:
    """A backend with short backoff; no key unless given (not even from the environment)."""
    return OpenAIBackend(
        url,
        model,
        api_key=api_key,
        timeout_s=timeout_s,
        max_attempts=max_attempts,
        max_backoff_s=0.0,
        max_reply_bytes=max_reply_bytes,
        max_prompt_bytes=max_prompt_bytes,
    )


def requests_seen(server: FaultServer) -> int:
    return sum(server.counts.values())
