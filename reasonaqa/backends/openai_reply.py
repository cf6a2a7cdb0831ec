"""What an OpenAI-compatible server sends back, checked at the edge before anything keeps it.

A 200 reply is validated against the chat-completions shape (``ChatReply``): every content is
a string (or null, read as ""), there is at least one choice, token counts are counts. Error
bodies come in three dialects, all read by ``server_message``: OpenAI and llama.cpp's server
(``{"error": {"message": ...}}``), vLLM (``{"object": "error", "message": ...}``) and
FastAPI's ``{"detail": ...}``.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, Field, NonNegativeInt, StrictStr, ValidationError

from reasonaqa.backends.base import Completion

# How much of a server's text an error keeps: enough to read, small enough for a table cell.
RAW_CHARS = 2000
MESSAGE_CHARS = 300

# How the servers we know word a prompt that does not fit: OpenAI, vLLM, llama.cpp's server
# (native and llama-cpp-python). Matched in lower case.
CONTEXT_LENGTH_MARKERS = (
    "context_length_exceeded",
    "maximum context length",
    "exceed_context_size_error",
    "exceeds the available context size",
    "exceed context window",
    "n_ctx",
)


class ReplyMessage(BaseModel):
    # Strict: pydantic would otherwise accept nothing but strings anyway, but a number must
    # never be turned into text the model did not write.
    content: StrictStr | None = None


class ReplyChoice(BaseModel):
    message: ReplyMessage
    finish_reason: StrictStr | None = None


class ReplyUsage(BaseModel):
    prompt_tokens: NonNegativeInt | None = None
    completion_tokens: NonNegativeInt | None = None


class ChatReply(BaseModel):
    """The part of a chat-completions reply we use; other fields are ignored."""

    choices: list[ReplyChoice] = Field(min_length=1)
    usage: ReplyUsage | None = None


class NotJson(Exception):
    """The body is not JSON at all: cut off in transit, or an HTML error page."""


class MalformedReply(Exception):
    """Valid JSON that is not a chat-completions reply; the message names the first problem."""


def parse_reply(body: bytes) -> Completion:
    """A 200 body as a ``Completion``, or ``NotJson`` / ``MalformedReply``."""
    try:
        reply = ChatReply.model_validate_json(body)
    except ValidationError as err:
        problems = err.errors(include_url=False)
        if problems[0]["type"] == "json_invalid":
            raise NotJson(f"the body is not JSON: {clip(body, 120)!r}") from None
        raise MalformedReply(_describe(problems)) from None
    usage = reply.usage or ReplyUsage()
    return Completion(
        texts=[choice.message.content or "" for choice in reply.choices],
        finish_reasons=[choice.finish_reason or "stop" for choice in reply.choices],
        prompt_tokens=usage.prompt_tokens or 0,
        completion_tokens=usage.completion_tokens or 0,
    )


def _describe(problems: list[Any]) -> str:
    """The first validation problem as ``where: what (got value)``, on one line."""
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    got = f" (got {clip(orjson.dumps(first['input']), 60)})" if first["type"] != "missing" else ""
    more = f"; {len(problems) - 1} more problem(s)" if len(problems) > 1 else ""
    return f"{where}: {first['msg'].lower()}{got}{more}"


def server_message(body: bytes) -> str:
    """The server's own words about an error, on one line; the body itself if it has none."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        payload = None
    message = _message_field(payload) or clip(body, 2 * MESSAGE_CHARS)
    return one_line(message, MESSAGE_CHARS)


def _message_field(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    for key in ("message", "detail", "error"):
        if isinstance(payload.get(key), str):
            return str(payload[key])
    return None


def is_context_length_error(body: bytes) -> bool:
    """Whether an error body says the prompt plus ``max_tokens`` does not fit the context."""
    lowered = body[:8192].decode("utf-8", "replace").lower()
    return any(marker in lowered for marker in CONTEXT_LENGTH_MARKERS)


def clip(body: bytes, limit: int = RAW_CHARS) -> str:
    """At most ``limit`` characters of a body, decoded leniently."""
    return body[: limit * 4].decode("utf-8", "replace")[:limit]


def one_line(text: str, limit: int) -> str:
    collapsed = " ".join(text.split())
    return collapsed if len(collapsed) <= limit else collapsed[: limit - 1] + "…"
