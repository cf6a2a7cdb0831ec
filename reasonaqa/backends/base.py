"""The one protocol every LLM backend speaks, and the request/response types it carries.

A backend turns one chat request into one completion. Batching (vLLM) and bounded
concurrency (HTTP) are the backend's business; the engine only awaits ``complete``.

Two kinds of failure: ``BackendError`` ends one request (the engine quarantines the item),
``FatalBackendError`` ends the run (bad credentials, unknown model, unreachable endpoint):
every further request would fail the same way, so nothing should be quarantined for it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

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


class BackendError(Exception):
    """A request that failed for good after the backend's own retries.

    ``reason`` is one of the quarantine codes: transport, timeout, length, schema,
    malformed_reply (the server's reply breaks the chat-completions shape), reply_too_large,
    prompt_too_large. ``str(err)`` is one line for people. ``raw`` is the server's reply text
    (truncated), ``status`` and ``message`` the last HTTP status and the server's own error
    message seen for this request, when there were any.
    """

    def __init__(
        self,
        reason: str,
        detail: str,
        *,
        raw: str | None = None,
        status: int | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.raw = raw
        self.status = status
        self.message = message


class FatalBackendError(Exception):
    """The endpoint refuses every request, or cannot be reached: stop the run.

    Deliberately not a ``BackendError``, so no ``except BackendError`` quarantines an item for
    it. ``reason``: unauthorized (401), forbidden (403), not_found (404: unknown model or a
    wrong base URL), unreachable (no HTTP answer at all, from ``check_endpoint``).
    ``status`` is the HTTP status (None when unreachable), ``message`` the server's message.
    ``str(err)`` is one line quoting both.
    """

    def __init__(self, reason: str, detail: str, status: int | None, message: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.status = status
        self.message = message


@runtime_checkable
class Backend(Protocol):
    """What the engine needs from an LLM."""

    name: str
    model: str

    async def complete(self, request: ChatRequest) -> Completion: ...

    async def check_endpoint(self) -> str | None:
        """Before a run: raise ``FatalBackendError`` if no request could succeed; return a
        one-line note worth printing (the model is not listed), or None. In-process
        backends have nothing to check."""
        return None

    async def aclose(self) -> None: ...


# Query parameters that carry secrets in some providers' URLs (``?key=``, ``?api-key=``).
_SECRET_QUERY_WORDS = ("key", "token", "secret", "password", "sig", "auth")


HIDDEN = "***"  # what a hidden credential reads as


def redact_url(url: str) -> str:
    """``url`` safe to store and print: credentials become ``***``, as do secret-looking
    query values. Anything unparsable is replaced whole rather than risk leaking it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "<unparsable URL>"
    if ":" in host:  # an IPv6 literal lost its brackets in hostname
        host = f"[{host}]"
    netloc = f"{HIDDEN}@{host}{port}" if "@" in parts.netloc else parts.netloc
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = parts.query  # re-encoded only when something was hidden, so a clean URL is as given
    if any(_is_secret(name) for name, _ in pairs):
        hidden = [(name, HIDDEN if _is_secret(name) else value) for name, value in pairs]
        query = urlencode(hidden, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_secrets(url: str) -> list[str]:
    """What ``redact_url`` hides: the user name and password, secret-looking query values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [unquote(parts.username or ""), unquote(parts.password or "")]
    query = parse_qsl(parts.query, keep_blank_values=True)
    found += [value for name, value in query if _is_secret(name)]
    return [secret for secret in found if secret]


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_QUERY_WORDS)
