"""The OpenAI backend against the fault server over real HTTP on 127.0.0.1: what each broken
reply, refusal and oversized body becomes."""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing

import pytest

from reasonaqa.backends.base import BackendError, Completion, FatalBackendError
from reasonaqa.backends.openai_reply import RAW_CHARS
from reasonaqa.schemas import McqItem
from reasonaqa.testing.backend_helpers import mcq_request, quick_backend, requests_seen, served
from reasonaqa.testing.fault_server import ALL_FAULT_KINDS


def fail(kind: str, **backend_options: int) -> tuple[BaseException, int]:
    """The exception one request gets when every reply is ``kind``, and requests sent."""

    async def scenario() -> tuple[BaseException, int]:
        async with (
            served({kind: 1.0}) as (url, server),
            aclosing(quick_backend(url, **backend_options)) as backend,
        ):
            try:
                await backend.complete(mcq_request())
            except (BackendError, FatalBackendError) as err:
                return err, requests_seen(server)
        raise AssertionError(f"{kind}: the request succeeded")

    return asyncio.run(scenario())


def one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_a_good_reply_is_a_completion_of_strings() -> None:
    async def scenario() -> Completion:
        async with served() as (url, _), aclosing(quick_backend(url)) as backend:
            return await backend.complete(mcq_request())

    completion = asyncio.run(scenario())
    McqItem.model_validate_json(completion.texts[0])
    assert completion.finish_reasons == ["stop"]
    assert completion.prompt_tokens > 0 and completion.completion_tokens > 0


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("number_content", "choices.0.message.content: input should be a valid string (got "),
        ("object_content", "choices.0.message.content: input should be a valid string (got {"),
        ("no_choices", "choices: field required"),
        ("bad_usage", "usage.prompt_tokens: input should be a valid integer"),
    ],
)
def test_a_reply_of_the_wrong_shape_fails_once_as_malformed(kind: str, problem: str) -> None:
    err, sent = fail(kind)
    assert isinstance(err, BackendError)
    assert err.reason == "malformed_reply"
    assert problem in one_line(err)
    assert err.status == 200
    assert err.raw and err.raw.startswith('{"id": "chatcmpl-')  # the server's own text
    assert sent == 1, "a server that answers in the wrong shape is not asked again"


def test_a_50_mb_reply_is_dropped_after_the_cap() -> None:
    started = time.monotonic()
    err, sent = fail("huge")
    assert isinstance(err, BackendError)
    assert err.reason == "reply_too_large"
    assert f"over {1024**2} bytes" in one_line(err)
    assert err.raw is not None and len(err.raw) == RAW_CHARS
    assert err.raw.startswith('{"id": "chatcmpl-')
    assert sent == 1
    assert time.monotonic() - started < 5, "stopped reading, did not drain 50 MB"


def test_a_reply_declaring_a_size_over_the_cap_is_not_read() -> None:
    err, sent = fail("bad_usage", max_reply_bytes=200)  # any reply of the normal size
    assert isinstance(err, BackendError)
    assert err.reason == "reply_too_large"
    assert "declares" in one_line(err) and "over 200; unread" in str(err)
    assert sent == 1


@pytest.mark.parametrize(
    ("kind", "status", "reason", "message"),
    [
        ("unauthorized", 401, "unauthorized", "Incorrect API key provided."),
        ("forbidden", 403, "forbidden", "You are not allowed to use this model."),
        (
            "model_not_found",
            404,
            "not_found",
            "The model `fault-server` does not exist or you do not have access to it.",
        ),
    ],
)
def test_refusals_of_every_request_are_fatal(
    kind: str, status: int, reason: str, message: str
) -> None:
    err, sent = fail(kind, max_attempts=5)
    assert isinstance(err, FatalBackendError)
    assert not isinstance(err, BackendError), "no except BackendError may quarantine it"
    assert (err.status, err.reason, err.message) == (status, reason, message)
    assert one_line(err).startswith(f"HTTP {status} from http://127.0.0.1:")
    assert str(err).endswith(f"/v1/chat/completions: {message}")
    assert sent == 1


def test_a_prompt_over_the_context_fails_as_length_once_in_every_dialect() -> None:
    async def scenario() -> tuple[list[BackendError], int, str]:
        errors = []
        async with (
            served({"context_length": 1.0}) as (url, server),
            aclosing(quick_backend(url, max_attempts=5)) as backend,
        ):
            for index in range(12):
                try:
                    await backend.complete(mcq_request(index))
                except BackendError as err:
                    errors.append(err)
            return errors, requests_seen(server), backend.schema_mode

    errors, sent, schema_mode = asyncio.run(scenario())
    assert sent == len(errors) == 12, "sent once each, never retried"
    assert schema_mode == "json_schema", "not taken for a refusal of json_schema"
    assert {err.reason for err in errors} == {"length"}
    assert {err.status for err in errors} == {400}
    assert all(err.raw and '"message"' in err.raw for err in errors), "the error body is kept"
    messages = {err.message or "" for err in errors}
    assert any("exceeds the available context size" in m for m in messages)  # llama.cpp
    assert any("However, your messages resulted in" in m for m in messages)  # OpenAI
    assert any("However, you requested" in m for m in messages)  # vLLM
    for err in errors:
        assert one_line(err).startswith("HTTP 400, the prompt does not fit the model's context")


def test_a_prompt_over_the_limit_is_not_sent() -> None:
    async def scenario() -> tuple[BackendError, int]:
        async with (
            served() as (url, server),
            aclosing(quick_backend(url, max_prompt_bytes=1000)) as backend,
        ):
            with pytest.raises(BackendError) as caught:
                await backend.complete(
                    mcq_request(user="é" * 600)
                )  # 1200 bytes, with the system prompt 1219
            return caught.value, requests_seen(server)

    err, sent = asyncio.run(scenario())
    assert err.reason == "prompt_too_large"
    assert "is 1219 bytes, over the 1000-byte limit" in one_line(err)
    assert sent == 0


def test_a_failure_after_retries_keeps_the_last_status_and_message() -> None:
    err, sent = fail("server_error", max_attempts=3)
    assert isinstance(err, BackendError)
    assert err.reason == "transport"
    assert (err.status, err.message) == (500, "injected server_error")
    assert err.raw is not None and '"message": "injected server_error"' in err.raw
    assert one_line(err) == "gave up after 3 attempt(s): HTTP 500: injected server_error"
    assert sent == 2 * 3  # each 500 to json_schema is retried as json_object (llama.cpp)


def test_a_cut_body_is_retried_and_keeps_the_server_text() -> None:
    err, sent = fail("truncated", max_attempts=2)
    assert isinstance(err, BackendError)
    assert err.reason == "transport"
    assert "malformed response body: the body is not JSON" in one_line(err)
    assert err.status == 200 and err.message is None
    assert err.raw and err.raw.startswith('{"id": "chatcmpl-')
    assert sent == 2


def test_any_mix_of_faults_gives_strings_or_one_line_errors() -> None:
    kinds = [kind for kind in ALL_FAULT_KINDS if kind != "hang"]  # hangs only slow it down
    rates = {kind: 0.7 / len(kinds) for kind in kinds}

    async def scenario() -> list[Completion | BaseException]:
        async with served(rates) as (url, _), aclosing(quick_backend(url)) as backend:
            requests = [backend.complete(mcq_request(index)) for index in range(80)]
            return list(await asyncio.gather(*requests, return_exceptions=True))

    outcomes = asyncio.run(scenario())
    reasons = set()
    for outcome in outcomes:
        if isinstance(outcome, Completion):
            assert all(isinstance(text, str) for text in outcome.texts)
            continue
        assert isinstance(outcome, BackendError | FatalBackendError), repr(outcome)
        one_line(outcome)
        reasons.add(outcome.reason)
    assert any(isinstance(outcome, Completion) for outcome in outcomes)
    assert reasons <= {
        "transport",
        "malformed_reply",
        "reply_too_large",
        "length",
        "unauthorized",
        "forbidden",
        "not_found",
    }
    assert {"malformed_reply", "reply_too_large", "unauthorized"} <= reasons
