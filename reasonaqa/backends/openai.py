"""Any OpenAI-compatible chat endpoint (vLLM, OpenAI, llama.cpp's server...) over aiohttp.

Structured output goes as ``response_format`` type ``json_schema``; a server that rejects it
(llama.cpp answers HTTP 500) is asked again with ``{"type": "json_object", "schema": ...}`` and,
if that works, keeps getting it. ``n`` samples are fanned out as separate requests with
consecutive seeds when the server returns fewer choices than asked. Network errors, 429 and
5xx are retried with exponential backoff and jitter, honouring ``Retry-After``.

Nothing the server sends is trusted (see ``openai_reply``): a body over ``max_reply_bytes``
is dropped once that much is read, and a reply that is JSON but not a chat completion fails
as ``malformed_reply``. 401, 403 and 404 raise ``FatalBackendError``: no other request can
succeed. A 400 saying the prompt does not fit the context fails as ``length``, sent once.
Credentials in the base URL (``http://user:key@host/v1``) go out as Basic auth and never
appear in a message.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import socket
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import aiohttp
import orjson

from reasonaqa.backends.adaptive import AdaptiveLimiter
from reasonaqa.backends.base import (
    BackendError,
    ChatRequest,
    Completion,
    FatalBackendError,
    redact_url,
    url_secrets,
)
from reasonaqa.backends.openai_reply import (
    MalformedReply,
    NotJson,
    clip,
    is_context_length_error,
    one_line,
    parse_reply,
    server_message,
)
from reasonaqa.errors import InputError

OVERLOAD_STATUSES = frozenset({429, 503})
FATAL_STATUSES = {401: "unauthorized", 403: "forbidden", 404: "not_found"}
# How servers refuse a json_schema response_format they do not support.
SCHEMA_REFUSAL_STATUSES = frozenset({400, 422, 500})
JSON_HEADERS = {"Content-Type": "application/json"}

# A structured answer of a few hundred tokens is a few KiB: these only stop runaways.
DEFAULT_MAX_REPLY_BYTES = 1024**2
DEFAULT_MAX_PROMPT_BYTES = 512 * 1024
# Model lists can be long (hosted routers list hundreds, with descriptions).
MAX_MODELS_BYTES = 16 * 1024**2
CHECK_TIMEOUT_S = 10.0


class RetryableError(Exception):
    """A failure worth another try; ``reason`` is the quarantine code if retries run out."""

    def __init__(
        self,
        reason: str,
        detail: str,
        retry_after_s: float | None = None,
        *,
        status: int | None = None,
        message: str | None = None,
        raw: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.retry_after_s = retry_after_s
        self.status = status
        self.message = message
        self.raw = raw


class SchemaFormatRejected(Exception):
    """The server refused ``response_format`` type ``json_schema``."""


class ReplyTooLarge(Exception):
    """The body grew past the cap; ``head`` is what was read before stopping."""

    def __init__(self, detail: str, head: bytes = b"") -> None:
        super().__init__(detail)
        self.head = head


@dataclass
class TransportStats:
    """What the progress display reads; it never changes what a run writes."""

    retries: int = 0


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: bytes
    retry_after_s: float | None = None


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        concurrency: int = 16,
        timeout_s: float = 120.0,
        max_attempts: int = 8,
        max_backoff_s: float = 30.0,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
        max_prompt_bytes: int = DEFAULT_MAX_PROMPT_BYTES,
    ) -> None:
        self.base_url, self._auth = split_credentials(base_url)
        self._url = endpoint_url(self.base_url, "chat/completions")
        self._shown_url = redact_url(self._url)  # the query may still hold a key
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        secrets = (self.api_key, *url_secrets(base_url))
        # Longest first, so a key containing another secret is hidden whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self.limiter = AdaptiveLimiter(maximum=concurrency)
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.max_backoff_s = max_backoff_s
        self.max_reply_bytes = max_reply_bytes
        self.max_prompt_bytes = max_prompt_bytes
        self.stats = TransportStats()
        self.schema_mode: str = "json_schema"
        self.n_supported = True
        self._client: aiohttp.ClientSession | None = None

    def _scrub(self, text: str) -> str:
        """``text`` with the key and URL credentials hidden: servers and aiohttp errors may
        echo them, and what we raise ends up in files and on screen."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def __repr__(self) -> str:
        return f"OpenAIBackend({redact_url(self.base_url)!r}, {self.model!r})"

    # --- the run's requests ----------------------------------------------------------------

    async def complete(self, request: ChatRequest) -> Completion:
        """``BackendError`` when this request failed for good, ``FatalBackendError`` when
        every request will (bad key, unknown model)."""
        self._check_prompt_size(request)
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

    def _check_prompt_size(self, request: ChatRequest) -> None:
        size = sum(len(message.get("content", "").encode()) for message in request.messages)
        if size > self.max_prompt_bytes:
            raise BackendError(
                "prompt_too_large",
                f"the prompt is {size} bytes, over the {self.max_prompt_bytes}-byte limit; "
                "not sent",
            )

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
        last_http: RetryableError | None = None  # the last failure that had an HTTP status
        for attempt in range(1, self.max_attempts + 1):
            try:
                return await self._post(request)
            except RetryableError as err:
                last_http = err if err.status is not None else last_http
                if attempt == self.max_attempts:
                    raise BackendError(
                        err.reason,
                        f"gave up after {self.max_attempts} attempt(s): {err}",
                        raw=err.raw,
                        status=last_http.status if last_http else None,
                        message=last_http.message if last_http else None,
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
            reply = await self._send(self._body(request, mode))
        finally:
            self.limiter.release()
        try:
            return self._parse(reply, mode)
        except SchemaFormatRejected:
            # llama.cpp's server: HTTP 500 for json_schema, grammar via json_object + schema.
            completion = await self._post(request, "json_object")
            self.schema_mode = "json_object"
            return completion

    async def _send(self, body: bytes) -> HttpReply:
        try:
            async with self._session().post(self._url, data=body, headers=JSON_HEADERS) as resp:
                try:
                    data = await self._read_body(resp, self.max_reply_bytes)
                except ReplyTooLarge as err:
                    # Not retried: a server that ignores max_tokens will do it again.
                    raw, status = self._scrub(clip(err.head)), resp.status
                    raise BackendError(
                        "reply_too_large", str(err), raw=raw, status=status
                    ) from None
                return HttpReply(resp.status, data, _retry_after(resp.headers.get("Retry-After")))
        except TimeoutError as err:
            self.limiter.on_overload()
            raise RetryableError("timeout", f"no answer within {self.timeout_s}s") from err
        except aiohttp.ClientError as err:
            detail = self._scrub(f"{type(err).__name__}: {err}")
            raise RetryableError("transport", detail) from err

    def _parse(self, reply: HttpReply, schema_mode: str) -> Completion:
        status = reply.status
        if status < 400:
            return self._completion(reply)
        message = self._scrub(server_message(reply.body))
        raw = self._scrub(clip(reply.body))
        detail = f"HTTP {status}: {message}"
        if status in OVERLOAD_STATUSES:
            self.limiter.on_overload(reply.retry_after_s)
            raise RetryableError(
                "transport", detail, reply.retry_after_s, status=status, message=message, raw=raw
            )
        if status in FATAL_STATUSES:
            shown = f"HTTP {status} from {self._shown_url}: {message}"
            raise FatalBackendError(FATAL_STATUSES[status], shown, status, message)
        if status == 400 and is_context_length_error(reply.body):
            # Sending it again cannot help: the prompt plus max_tokens will not fit.
            detail = f"HTTP 400, the prompt does not fit the model's context: {message}"
            raise BackendError("length", detail, raw=raw, status=status, message=message)
        if schema_mode == "json_schema" and status in SCHEMA_REFUSAL_STATUSES:
            raise SchemaFormatRejected(message)
        if status >= 500:
            raise RetryableError("transport", detail, status=status, message=message, raw=raw)
        raise BackendError("transport", detail, raw=raw, status=status, message=message)

    def _completion(self, reply: HttpReply) -> Completion:
        try:
            completion = parse_reply(reply.body)
        except NotJson as err:
            # Cut off in transit, or a proxy's error page: another try may well work.
            detail = self._scrub(f"malformed response body: {err}")
            raw = self._scrub(clip(reply.body))
            raise RetryableError("transport", detail, status=reply.status, raw=raw) from None
        except MalformedReply as err:
            # A server that answers in the wrong shape will do so again: not retried.
            detail = self._scrub(f"the reply is not a chat completion: {err}")
            raw = self._scrub(clip(reply.body))
            raise BackendError("malformed_reply", detail, raw=raw, status=reply.status) from None
        self.limiter.on_success()
        return completion

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

    # --- before the run --------------------------------------------------------------------

    async def check_endpoint(self, timeout_s: float = CHECK_TIMEOUT_S) -> str | None:
        """``FatalBackendError`` when the endpoint cannot be reached or refuses the key; a
        one-line note when it works but does not list the model (some servers take any)."""
        models_url = endpoint_url(self.base_url, "models")
        try:
            reply = await self._reach("GET", models_url, None, timeout_s)
            if reply.status in (404, 405):
                # No model list here: one token from the chat endpoint shows whether it works.
                message = {"role": "user", "content": "Hi"}
                body = orjson.dumps({"model": self.model, "messages": [message], "max_tokens": 1})
                reply = await self._reach("POST", self._url, body, timeout_s)
                return self._check_reply(reply, self._url)
        except ReplyTooLarge:
            return None  # it answers, at length: nothing more to learn from it
        note = self._check_reply(reply, models_url)
        return note if note is not None else self._model_note(reply.body, models_url)

    async def _reach(
        self, method: str, url: str, body: bytes | None, timeout_s: float
    ) -> HttpReply:
        shown = redact_url(url)
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        session = self._session()
        try:
            async with session.request(
                method, url, data=body, headers=JSON_HEADERS, timeout=timeout
            ) as resp:
                return HttpReply(resp.status, await self._read_body(resp, MAX_MODELS_BYTES))
        except TimeoutError:
            why = f"no answer within {timeout_s:g} s"
            raise FatalBackendError("unreachable", f"{shown}: {why}", None, why) from None
        except aiohttp.ClientError as err:
            why = self._scrub(_connect_failure(err))
            detail = f"cannot reach {shown}: {why}"
            raise FatalBackendError("unreachable", detail, None, why) from None

    def _check_reply(self, reply: HttpReply, url: str) -> str | None:
        """Raise on 401/403/404; a note for any other refusal (the run will retry those)."""
        if reply.status < 400:
            return None
        message = self._scrub(server_message(reply.body))
        detail = f"HTTP {reply.status} from {redact_url(url)}: {message}"
        if reply.status in FATAL_STATUSES:
            raise FatalBackendError(FATAL_STATUSES[reply.status], detail, reply.status, message)
        return f"{detail}; going on"

    def _model_note(self, body: bytes, url: str) -> str | None:
        try:
            ids = [str(entry["id"]) for entry in orjson.loads(body)["data"]]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return f"{redact_url(url)} does not list models in the OpenAI format; going on"
        if self.model in ids:
            return None
        listed = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        note = (
            f"model {self.model!r} is not among the models {redact_url(url)} lists "
            f"({listed or 'none'}); going on, as some servers answer to any name"
        )
        return one_line(note, 400)

    # --- the connection --------------------------------------------------------------------

    @staticmethod
    async def _read_body(resp: aiohttp.ClientResponse, limit: int) -> bytes:
        """The body, or ``ReplyTooLarge`` as soon as more than ``limit`` bytes arrived."""
        declared = resp.content_length
        if declared is not None and "Content-Encoding" not in resp.headers:
            # The common case, and the fast one: the size is known before reading.
            if declared > limit:
                resp.close()
                raise ReplyTooLarge(f"the reply declares {declared} bytes, over {limit}; unread")
            return await resp.read()
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_any():
            size += len(chunk)
            chunks.append(chunk)
            if size > limit:
                resp.close()  # drop the connection rather than drain the rest
                raise ReplyTooLarge(f"the reply is over {limit} bytes; dropped", b"".join(chunks))
        return b"".join(chunks)

    def _session(self) -> aiohttp.ClientSession:
        if self._client is None or self._client.closed:
            # URL credentials win over a key from the environment: they were given explicitly.
            bearer = f"Bearer {self.api_key}" if self.api_key else None
            authorization = self._auth or bearer
            headers = {"Authorization": authorization} if authorization else {}
            self._client = aiohttp.ClientSession(
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                connector=aiohttp.TCPConnector(limit=self.limiter.maximum, ttl_dns_cache=300),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()


def split_credentials(url: str) -> tuple[str, str | None]:
    """``url`` without ``user:password@``, and those as a Basic ``Authorization`` value. Not
    an http(s) URL with a host: ``InputError`` quoting the URL redacted."""
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        raise InputError(
            f"--base-url must be an http(s) URL such as http://127.0.0.1:8000/v1, "
            f"got {redact_url(url)!r}"
        )
    if "@" not in parts.netloc:
        return url, None
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    auth = "Basic " + base64.b64encode(pair.encode()).decode()
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), auth


def endpoint_url(base_url: str, name: str) -> str:
    """``base_url`` + ``/name``; a query (Azure's ``?api-version=``) stays at the end."""
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/{name}"))


def _connect_failure(err: aiohttp.ClientError) -> str:
    """Why a connection failed, in words: refused, no such host, TLS..."""
    # Certificate errors are connector errors without an os_error: hence getattr.
    os_error = getattr(err, "os_error", None)
    if isinstance(os_error, socket.gaierror):
        return f"cannot resolve the host ({os_error.strerror})"
    if isinstance(os_error, OSError) and os_error.errno:
        return os.strerror(os_error.errno).lower()
    return one_line(f"{type(err).__name__}: {err}", 300)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare for LLM servers, and backoff covers it
