"""An OpenAI-compatible chat server that injects faults: real HTTP for tests and benchmarks.

    python -m reasonaqa.testing.fault_server --port 8011 \\
        --rates '{"rate_limit": 0.05, "drop": 0.05}' --log server.jsonl --seed 1

``POST /v1/chat/completions`` answers with a completion whose content satisfies the JSON schema
in ``response_format`` (``json_schema`` or llama.cpp's ``json_object`` + ``schema``), filled
with plausible content (see ``fake_content``). ``n`` gives n choices, ``seed`` is echoed.

By ``--rates`` (fraction of requests per fault kind, see ``ALL_FAULT_KINDS``) it fails instead:
the transient faults of ``FAULT_KINDS``; replies no real server sends (``REPLY_FAULT_KINDS``:
a number or an object as content, no choices, malformed usage, a 50 MB body streamed without
Content-Length); and refusals with OpenAI-style error bodies (``REFUSAL_FAULT_KINDS``: 401,
403, 404 model not found, 400 context length in the OpenAI, vLLM or llama.cpp dialect).
Whether a request fails is a pure function of the seed, the hash of the request body and how
many times that exact body was seen, so a client's retry can succeed and a rerun of the same
test sees the same faults. ``--mode instant`` skips all fault bookkeeping, for benchmarks.

``--log`` gets one JSON line per request: body hash, messages hash (``messages_hash``), seed,
attempt, HTTP status (0 when the connection was dropped) and fault kind. A ``hang`` that
answers logs status 200 once its sleep ends, when the client has usually given up.
``GET /_stats`` returns request counts and the server's CPU-seconds; ``GET /v1/models`` lists
one model (``MODEL_ID``), or answers 404 with ``--no-models``. With ``--api-key KEY`` every
``/v1`` request needs ``Authorization: Bearer KEY`` or Basic auth with password KEY, else 401.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from aiohttp import web

from reasonaqa.testing.fake_content import (
    Context,
    Fill,
    Picker,
    compile_schema,
    sentence,
    stable_hash,
)

# Order matters only for how a single random draw maps to a kind; each kind keeps its own rate.
FAULT_KINDS: tuple[str, ...] = (
    "rate_limit",  # 429 with Retry-After
    "server_error",  # 500
    "unavailable",  # 503
    "hang",  # sleeps past the client timeout, then answers or drops the connection
    "drop",  # closes the connection without a response
    "truncated",  # 200 whose JSON body is cut in half
    "not_json",  # 200, message content is prose, not JSON
    "bad_schema",  # 200, message content is JSON that does not match the schema
    "length",  # 200, finish_reason "length" and the content cut in half
)
# Replies that break the chat-completions contract, which clients must survive.
REPLY_FAULT_KINDS: tuple[str, ...] = (
    "number_content",  # 200, message content is a number
    "object_content",  # 200, message content is a JSON object, not a string
    "no_choices",  # 200, the body has no "choices"
    "bad_usage",  # 200, usage token counts are not counts
    "huge",  # 200, a body of --huge-bytes streamed in chunks, with no Content-Length
)
# Refusals a client must not retry, with OpenAI-style error bodies.
REFUSAL_FAULT_KINDS: tuple[str, ...] = (
    "unauthorized",  # 401
    "forbidden",  # 403
    "model_not_found",  # 404
    "context_length",  # 400, the prompt does not fit (OpenAI, vLLM or llama.cpp wording)
)
ALL_FAULT_KINDS = FAULT_KINDS + REPLY_FAULT_KINDS + REFUSAL_FAULT_KINDS
HTTP_STATUS = {"rate_limit": 429, "server_error": 500, "unavailable": 503}
Mode = Literal["faults", "instant"]
MODEL_ID = "fault-server"
HUGE_BYTES = 50 * 1024**2
HUGE_CHUNK = b"a" * 64 * 1024


def uniform_rates(total: float, kinds: tuple[str, ...] = FAULT_KINDS) -> dict[str, float]:
    """``total`` fault rate shared equally by ``kinds``."""
    return {kind: total / len(kinds) for kind in kinds}


def messages_hash(messages: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> str:
    """The hash of a request's messages as logged, so tests can match log lines to records."""
    blob = json.dumps(list(messages), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def read_log(path: Path) -> list[dict[str, Any]]:
    """The server log as records, skipping a last line the server was still writing."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


@dataclass(frozen=True)
class FaultPlan:
    """Which fault, if any, a request gets: deterministic in seed, body hash and attempt."""

    rates: Mapping[str, float] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.rates) - set(ALL_FAULT_KINDS)
        if unknown:
            known = list(ALL_FAULT_KINDS)
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {known}")
        if any(not 0 <= rate <= 1 for rate in self.rates.values()):
            raise ValueError("each fault rate must be between 0 and 1")
        if sum(self.rates.values()) > 1 + 1e-9:
            raise ValueError("fault rates add up to more than 1")

    def pick(self, body_hash: str, attempt: int) -> str | None:
        draw = stable_hash(f"{self.seed}:{body_hash}:{attempt}") / 2**64
        for kind in ALL_FAULT_KINDS:  # later kinds come after, so earlier draws stay as they were
            rate = self.rates.get(kind, 0.0)
            if draw < rate:
                return kind
            draw -= rate
        return None


class FaultServer:
    """The request handlers and their state; ``app()`` wires them into an aiohttp application."""

    def __init__(
        self,
        plan: FaultPlan,
        mode: Mode = "faults",
        log: Path | None = None,
        hang_s: float = 10.0,
        retry_after_s: int = 1,
        latency_s: float = 0.0,
        huge_bytes: int = HUGE_BYTES,
        api_key: str | None = None,
        models_endpoint: bool = True,
    ) -> None:
        self.plan = plan
        self.huge_bytes = huge_bytes
        self.api_key = api_key
        self.models_endpoint = models_endpoint
        self.latency_s = latency_s
        self.instant = mode == "instant"
        self.hang_s = hang_s
        self.retry_after_s = retry_after_s
        self.log_path = log
        self._log: IO[str] | None = None
        self._fills: dict[tuple[Any, ...], list[tuple[dict[str, Any], Fill]]] = {}
        self._attempts: dict[str, int] = {}
        self.counts: Counter[str] = Counter()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/_stats", self.stats)
        app.on_startup.append(self._open_log)
        app.on_cleanup.append(self._close_log)
        return app

    async def _open_log(self, app: web.Application) -> None:
        if self.log_path is not None:
            self._log = open(self.log_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    async def _close_log(self, app: web.Application) -> None:
        if self._log is not None:
            self._log.close()

    async def models(self, request: web.Request) -> web.Response:
        refusal = self._refuse_key(request)
        if refusal is not None:
            return refusal
        if not self.models_endpoint:
            return web.json_response({"detail": "Not Found"}, status=404)
        model = {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "reasonaqa"}
        return web.json_response({"object": "list", "data": [model]})

    async def stats(self, request: web.Request) -> web.Response:
        stats = {
            "requests": sum(self.counts.values()),
            "by_kind": self.counts,
            "cpu_s": time.process_time(),
        }
        return web.json_response(stats)

    def _refuse_key(self, request: web.Request) -> web.Response | None:
        """401 unless the request carries the key, as Bearer or as a Basic auth password."""
        if self.api_key is None or _presented_key(request) == self.api_key:
            return None
        return _openai_error(401, "Incorrect API key provided.", "invalid_api_key")

    async def chat(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refuse_key(request)
        if refusal is not None:
            return refusal
        body = await request.read()
        digest = hashlib.blake2b(body, digest_size=8).hexdigest()
        try:
            payload = json.loads(body)
            messages = payload["messages"]
            ctx = Context(_last_user_text(messages))
        except (ValueError, KeyError, TypeError, AttributeError):
            return _error(400, "the body is not a chat-completions request")
        attempt = 0 if self.instant else self._attempts.get(digest, 0) + 1
        fault = None
        if not self.instant:
            self._attempts[digest] = attempt
            fault = self.plan.pick(digest, attempt)
        self.counts[fault or "ok"] += 1
        response = await self._respond(request, fault, payload, ctx, digest)
        if response is None:
            _drop(request)
        if self._log is not None:
            status = 0 if response is None else response.status
            self._write_log(digest, payload, attempt, status, fault)
        # After a drop aiohttp's write of this placeholder fails quietly on the closed socket.
        return response if response is not None else web.Response(status=499)

    def _write_log(
        self, digest: str, payload: dict[str, Any], attempt: int, status: int, fault: str | None
    ) -> None:
        assert self._log is not None
        entry = {
            "t": time.time(),
            "body": digest,
            "messages": messages_hash(payload["messages"]),
            "seed": payload.get("seed"),
            "attempt": attempt,
            "status": status,
            "fault": fault,
        }
        self._log.write(json.dumps(entry) + "\n")

    async def _respond(
        self,
        request: web.Request,
        fault: str | None,
        payload: dict[str, Any],
        ctx: Context,
        digest: str,
    ) -> web.StreamResponse | None:
        """The response for a fault kind (None: drop the connection)."""
        if self.latency_s:  # a model's think time, so tests can act while requests are in flight
            await asyncio.sleep(self.latency_s)
        if fault in REFUSAL_FAULT_KINDS:
            return _refusal(fault, payload, digest)
        if fault == "huge":
            return await self._stream_huge(request, payload, digest)
        if fault in HTTP_STATUS:
            headers = {"Retry-After": str(self.retry_after_s)} if fault == "rate_limit" else {}
            return _error(HTTP_STATUS[fault], f"injected {fault}", headers)
        if fault == "hang":
            await asyncio.sleep(self.hang_s)
            if int(digest, 16) % 2:
                return None
            fault = None
        if fault == "drop":
            return None
        completion = self._completion(payload, ctx, digest, fault)
        if fault in REPLY_FAULT_KINDS:
            _break_reply(completion, fault, digest)
        body = json.dumps(completion).encode()
        if fault == "truncated":
            body = body[: len(body) // 2]
        return web.Response(body=body, content_type="application/json")

    async def _stream_huge(
        self, request: web.Request, payload: dict[str, Any], digest: str
    ) -> web.StreamResponse:
        """A valid completion whose content is ``huge_bytes`` long, written as it goes, so the
        client cannot see the size up front; stops quietly when the client hangs up."""
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        head = {"id": f"chatcmpl-{digest}", "object": "chat.completion", "model": MODEL_ID}
        try:
            await response.write(json.dumps(head)[:-1].encode() + b', "choices": [')
            await response.write(b'{"index": 0, "message": {"role": "assistant", "content": "')
            for start in range(0, self.huge_bytes, len(HUGE_CHUNK)):
                await response.write(HUGE_CHUNK[: self.huge_bytes - start])
            await response.write(b'"}, "finish_reason": "stop"}]}')
            await response.write_eof()
        except ConnectionError:
            pass  # the client had read enough: what a capped client does
        return response

    def _completion(
        self, payload: dict[str, Any], ctx: Context, digest: str, fault: str | None
    ) -> dict[str, Any]:
        fill = self._fill_for(_response_schema(payload.get("response_format")))
        max_tokens = payload.get("max_tokens") or payload.get("max_completion_tokens")
        choices = []
        completion_tokens = 0
        for index in range(int(payload.get("n") or 1)):
            rng = Picker(int(digest, 16) + index)
            content = json.dumps(fill(rng, ctx), ensure_ascii=False)
            finish = "stop"
            if fault == "not_json":
                content = f"Sure! Here is what I hear: {sentence(rng)}"
            elif fault == "bad_schema":
                content = json.dumps({"note": sentence(rng)})
            elif fault == "length":
                content, finish = content[: len(content) // 2], "length"
            elif max_tokens and len(content) // 4 + 1 > max_tokens:
                content, finish = content[: 4 * max_tokens], "length"
            completion_tokens += len(content) // 4 + 1
            message = {"role": "assistant", "content": content}
            choices.append({"index": index, "message": message, "finish_reason": finish})
        prompt_tokens = sum(len(str(m.get("content", ""))) for m in payload["messages"]) // 4 + 1
        return {
            "id": f"chatcmpl-{digest}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": payload.get("model") or MODEL_ID,
            "seed": payload.get("seed"),
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _fill_for(self, schema: dict[str, Any] | None) -> Fill:
        """The compiled schema, found by a cheap key then dict equality (no serialising)."""
        schema = schema or _FREE_TEXT
        quick = (schema.get("title"), tuple(schema.get("properties", ())))
        known = self._fills.setdefault(quick, [])
        for known_schema, fill in known:
            if known_schema == schema:
                return fill
        fill = compile_schema(schema)
        known.append((schema, fill))
        return fill


# Without a schema the server still answers JSON, as ``json_object`` mode promises.
_FREE_TEXT: dict[str, Any] = {"type": "object", "properties": {"text": {"type": "string"}}}


def _response_schema(response_format: Any) -> dict[str, Any] | None:
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_schema":
        return (response_format.get("json_schema") or {}).get("schema")
    return response_format.get("schema")


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def _break_reply(completion: dict[str, Any], fault: str, digest: str) -> None:
    """Turn a good completion into the malformed reply a fault kind names."""
    message = completion["choices"][0]["message"]
    if fault == "number_content":
        message["content"] = int(digest[:4], 16)
    elif fault == "object_content":  # what a proxy that "helpfully" parses JSON content sends
        message["content"] = json.loads(message["content"])
    elif fault == "no_choices":
        del completion["choices"]
    elif fault == "bad_usage":
        completion["usage"] = {"prompt_tokens": "n/a", "completion_tokens": [1, 2]}


def _refusal(fault: str, payload: dict[str, Any], digest: str) -> web.Response:
    """The error body a real server sends for this refusal."""
    model = payload.get("model") or MODEL_ID
    if fault == "unauthorized":
        return _openai_error(401, "Incorrect API key provided.", "invalid_api_key")
    if fault == "forbidden":
        return _openai_error(403, "You are not allowed to use this model.", "forbidden")
    if fault == "model_not_found":
        message = f"The model `{model}` does not exist or you do not have access to it."
        return _openai_error(404, message, "model_not_found")
    return _context_length_error(int(digest, 16) % 3, payload)


def _context_length_error(dialect: int, payload: dict[str, Any]) -> web.Response:
    """400 in the words of OpenAI (0), vLLM (1) or llama.cpp's server (2)."""
    prompt = sum(len(str(m.get("content", ""))) for m in payload["messages"]) // 4 + 4096
    limit = "This model's maximum context length is 4096 tokens."
    if dialect == 0:
        message = f"{limit} However, your messages resulted in {prompt} tokens."
        return _openai_error(400, message, "context_length_exceeded", param="messages")
    if dialect == 1:
        message = f"{limit} However, you requested {prompt} tokens. Please reduce the length."
        error = {"object": "error", "message": message, "type": "BadRequestError", "code": 400}
        return web.json_response(error, status=400)
    message = "the request exceeds the available context size, try increasing it"
    error = {"code": 400, "message": message, "type": "exceed_context_size_error"}
    body = {"error": {**error, "n_prompt_tokens": prompt, "n_ctx": 4096}}
    return web.json_response(body, status=400)


def _openai_error(status: int, message: str, code: str, param: str | None = None) -> web.Response:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return web.json_response({"error": error}, status=status)


def _presented_key(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value).decode().partition(":")[2]
        except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
            return None
    return None


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    error = {"error": {"message": message, "type": "server_error", "code": status}}
    return web.json_response(error, status=status, headers=headers)


def _drop(request: web.Request) -> None:
    """Close the socket with no response: the client sees a disconnect or a reset."""
    if request.transport is not None:
        request.transport.abort()


@asynccontextmanager
async def serving(server: FaultServer) -> AsyncIterator[str]:
    """``server`` on a free port of 127.0.0.1 in this event loop; yields its ``/v1`` URL.

    For tests that want real HTTP without a subprocess to start."""
    runner = web.AppRunner(server.app(), access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m reasonaqa.testing.fault_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--rates", default="{}", help=f"JSON object, kinds: {', '.join(ALL_FAULT_KINDS)}"
    )
    parser.add_argument("--log", type=Path, help="append one JSON line per request here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mode", choices=["faults", "instant"], default="faults")
    parser.add_argument("--hang-seconds", type=float, default=10.0)
    parser.add_argument("--retry-after", type=int, default=1, help="seconds, sent with 429")
    parser.add_argument("--latency-seconds", type=float, default=0.0, help="delay every answer")
    parser.add_argument("--huge-bytes", type=int, default=HUGE_BYTES, help="size of a huge reply")
    parser.add_argument("--api-key", help="refuse /v1 requests without it (HTTP 401)")
    parser.add_argument("--no-models", action="store_true", help="GET /v1/models answers 404")
    args = parser.parse_args(argv)
    try:
        plan = FaultPlan(rates=json.loads(args.rates), seed=args.seed)
    except (ValueError, TypeError) as err:
        parser.error(f"--rates: {err}")
    if args.mode == "instant" and plan.rates:
        parser.error("--mode instant injects no faults; leave out --rates")
    server = FaultServer(
        plan,
        args.mode,
        args.log,
        args.hang_seconds,
        args.retry_after,
        args.latency_seconds,
        huge_bytes=args.huge_bytes,
        api_key=args.api_key,
        models_endpoint=not args.no_models,
    )
    web.run_app(
        server.app(),
        host=args.host,
        port=args.port,
        print=None,
        access_log=None,
        shutdown_timeout=1,
    )


if __name__ == "__main__":
    main()
