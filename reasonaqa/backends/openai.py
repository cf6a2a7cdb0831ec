"""Any OpenAI-compatible chat endpoint (vLLM, OpenAI, llama.cpp's server...) over aiohttp.

Structured output goes as ``response_format`` type ``json_schema``; a server that rejects it
(llama.cpp answers HTTP 500) is asked again with ``{"type": "json_object", "schema": ...}`` and,
if that works, keeps getting it. ``n`` samples are fanned out as separate requests with
consecutive seeds when the server returns fewer choices than asked. Network errors, 429 and
5xx are retried with exponential backoff and jitter, honouring ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import orjson

from reasonaqa.backends.adaptive import AdaptiveLimiter
from reasonaqa.backends.base import BackendError, ChatRequest, Completion

OVERLOAD_STATUSES = frozenset({429, 503})
JSON_HEADERS = {"Content-Type": "application/json"}


class RetryableError(Exception):
    """A failure worth another try; ``reason`` is the quarantine code if retries run out."""

    def __init__(self, reason: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after_s = retry_after_s


class SchemaFormatRejected(Exception):
    """The server refused ``response_format`` type ``json_schema``."""


@dataclass
class TransportStats:
    """Counters the progress display reads; they never change what a run writes."""

    requests: int = 0
    retries: int = 0
    overloads: int = 0
    timeouts: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


class OpenAIBackend:
    name = "openai"
    accepts_seed = True

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        concurrency: int = 16,
        timeout_s: float = 120.0,
        max_attempts: int = 8,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._url = f"{self.base_url}/chat/completions"
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.limiter = AdaptiveLimiter(maximum=concurrency)
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.max_backoff_s = max_backoff_s
        self.stats = TransportStats()
        self.schema_mode: str = "json_schema"
        self.n_supported = True
        self._client: aiohttp.ClientSession | None = None

    async def complete(self, request: ChatRequest) -> Completion:
        if request.n > 1 and not self.n_supported:
            return await self._fan_out(request, request.n)
        completion = await self._complete_once(request)
        missing = request.n - len(completion.texts)
        if missing > 0:
            # The server ignored n (llama.cpp does): ask for the rest one at a time.
            self.n_supported = False
            rest = await self._fan_out(request, missing, first_seed_offset=len(completion.texts))
            completion.texts += rest.texts
            completion.finish_reasons += rest.finish_reasons
            completion.completion_tokens += rest.completion_tokens
        return completion

    async def _fan_out(
        self, request: ChatRequest, count: int, first_seed_offset: int = 0
    ) -> Completion:
        def single(i: int) -> ChatRequest:
            seed = None if request.seed is None else request.seed + first_seed_offset + i
            return replace(request, n=1, seed=seed)

        parts = await asyncio.gather(*(self._complete_once(single(i)) for i in range(count)))
        return Completion(
            texts=[t for p in parts for t in p.texts],
            finish_reasons=[f for p in parts for f in p.finish_reasons],
            prompt_tokens=sum(p.prompt_tokens for p in parts),
            completion_tokens=sum(p.completion_tokens for p in parts),
        )

    async def _complete_once(self, request: ChatRequest) -> Completion:
        for attempt in range(1, self.max_attempts + 1):
            try:
                return await self._post(request)
            except RetryableError as err:
                if attempt == self.max_attempts:
                    raise BackendError(
                        err.reason, f"gave up after {self.max_attempts} attempt(s): {err}"
                    ) from err
                self.stats.retries += 1
                await asyncio.sleep(max(self._backoff_s(attempt), err.retry_after_s or 0.0))
        raise AssertionError("unreachable: max_attempts >= 1")

    def _backoff_s(self, attempt: int) -> float:
        """0.5 s, 1 s, 2 s, ... up to the cap, plus up to 0.5 s of jitter."""
        return min(self.max_backoff_s, 0.5 * 2 ** (attempt - 1)) + random.uniform(0, 0.5)

    async def _post(self, request: ChatRequest, mode: str | None = None) -> Completion:
        """One POST, in the server's structured-output dialect (learnt on the first refusal)."""
        mode = mode or self.schema_mode
        if not self.limiter.try_acquire():
            await self.limiter.acquire()
        try:
            status, text, retry_after = await self._send(self._body(request, mode))
        finally:
            self.limiter.release()
        try:
            return self._parse(status, text, retry_after, mode)
        except SchemaFormatRejected:
            # llama.cpp's server: HTTP 500 for json_schema, grammar via json_object + schema.
            completion = await self._post(request, "json_object")
            self.schema_mode = "json_object"
            return completion

    async def _send(self, body: bytes) -> tuple[int, bytes, float | None]:
        self.stats.requests += 1
        try:
            async with self._session().post(self._url, data=body, headers=JSON_HEADERS) as resp:
                status = resp.status
                self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
                text = await resp.read()
                return status, text, _retry_after(resp.headers.get("Retry-After"))
        except TimeoutError as err:
            self.stats.timeouts += 1
            self.limiter.on_overload()
            raise RetryableError("timeout", f"no answer within {self.timeout_s}s") from err
        except aiohttp.ClientError as err:
            raise RetryableError("transport", f"{type(err).__name__}: {err}") from err

    def _parse(
        self, status: int, text: bytes, retry_after: float | None, schema_mode: str
    ) -> Completion:
        if status in OVERLOAD_STATUSES:
            self.stats.overloads += 1
            self.limiter.on_overload(retry_after)
            raise RetryableError("transport", f"HTTP {status}", retry_after)
        if schema_mode == "json_schema" and status in (400, 422, 500):
            raise SchemaFormatRejected(text[:200].decode(errors="replace"))
        if status >= 500:
            raise RetryableError("transport", f"HTTP {status}: {text[:200]!r}")
        if status >= 400:
            raise BackendError("transport", f"HTTP {status}: {text[:500]!r}")
        try:
            payload = orjson.loads(text)
            choices = payload["choices"]
            texts = [c["message"]["content"] or "" for c in choices]
            finish = [c.get("finish_reason") or "stop" for c in choices]
        except (ValueError, KeyError, TypeError) as err:
            raise RetryableError("transport", f"malformed response body: {text[:200]!r}") from err
        self.limiter.on_success()
        usage = payload.get("usage") or {}
        return Completion(
            texts=texts,
            finish_reasons=finish,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )

    def _body(self, request: ChatRequest, schema_mode: str) -> bytes:
        if schema_mode == "json_schema":
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {
                    "name": request.schema_name,
                    "schema": request.schema,
                    "strict": True,
                },
            }
        else:
            response_format = {"type": "json_object", "schema": request.schema}
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(request.messages),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "response_format": response_format,
        }
        if request.n > 1:
            body["n"] = request.n
        if request.seed is not None:
            body["seed"] = request.seed
        if schema_mode == "json_object":
            # llama.cpp's server: its default repeat penalty breaks grammar-constrained output.
            body["repeat_penalty"] = 1.0
        return orjson.dumps(body)

    def _session(self) -> aiohttp.ClientSession:
        if self._client is None or self._client.closed:
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._client = aiohttp.ClientSession(
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                connector=aiohttp.TCPConnector(limit=self.limiter.maximum, ttl_dns_cache=300),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare for LLM servers, and backoff covers it
