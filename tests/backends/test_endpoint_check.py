"""The check before a run, keys and credentials, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager

import pytest

from reasonaqa.backends.base import BackendError, FatalBackendError, redact_url, url_secrets
from reasonaqa.backends.openai import OpenAIBackend, endpoint_url
from reasonaqa.errors import InputError
from reasonaqa.testing.backend_helpers import mcq_request, quick_backend, requests_seen, served
from reasonaqa.testing.servers import free_port

KEY = "sk-test-0123456789"


def check(backend: OpenAIBackend, timeout_s: float = 5.0) -> str | FatalBackendError | None:
    """What ``check_endpoint`` says: its note, or the error it raised."""

    async def scenario() -> str | FatalBackendError | None:
        async with aclosing(backend):
            try:
                return await backend.check_endpoint(timeout_s)
            except FatalBackendError as err:
                return err

    return asyncio.run(scenario())


def check_served(
    *,
    model: str = "fault-server",
    api_key: str | None = "",
    server_key: str | None = None,
    models_endpoint: bool = True,
    rates: dict[str, float] | None = None,
    credentials: str = "",
) -> tuple[str | FatalBackendError | None, int]:
    """``check`` against a fault server, and how many chat requests it got."""

    async def scenario() -> tuple[str | FatalBackendError | None, int]:
        async with served(rates, api_key=server_key, models_endpoint=models_endpoint) as (
            url,
            server,
        ):
            url = url.replace("http://", f"http://{credentials}@") if credentials else url
            backend = quick_backend(url, model=model, api_key=api_key)
            async with aclosing(backend):
                try:
                    outcome: str | FatalBackendError | None = await backend.check_endpoint(5.0)
                except FatalBackendError as err:
                    outcome = err
            return outcome, requests_seen(server)

    return asyncio.run(scenario())


# --- reachable ----------------------------------------------------------------------------


def test_a_listed_model_passes_without_a_note() -> None:
    assert check_served() == (None, 0)


def test_a_model_that_is_not_listed_gets_a_note_and_no_error() -> None:
    note, _ = check_served(model="gpt-9")
    assert isinstance(note, str) and "\n" not in note
    assert note.startswith("model 'gpt-9' is not among the models http://127.0.0.1:")
    assert "/v1/models lists (fault-server); going on" in note


def test_without_a_model_list_one_token_is_asked_for() -> None:
    assert check_served(models_endpoint=False) == (None, 1)


def test_without_a_model_list_an_unknown_model_is_fatal() -> None:
    err, sent = check_served(models_endpoint=False, rates={"model_not_found": 1.0})
    assert isinstance(err, FatalBackendError)
    assert (err.reason, err.status, sent) == ("not_found", 404, 1)
    assert "/v1/chat/completions: The model `fault-server` does not exist" in str(err)


# --- keys ---------------------------------------------------------------------------------


def test_a_missing_key_is_fatal_with_the_server_message() -> None:
    err, _ = check_served(server_key=KEY)
    assert isinstance(err, FatalBackendError)
    assert (err.reason, err.status, err.message) == (
        "unauthorized",
        401,
        "Incorrect API key provided.",
    )
    assert str(err).startswith("HTTP 401 from http://127.0.0.1:")
    assert str(err).endswith("/v1/models: Incorrect API key provided.")


def test_a_key_goes_as_bearer_and_url_credentials_as_basic_auth() -> None:
    assert check_served(server_key=KEY, api_key=KEY) == (None, 0)
    assert check_served(server_key=KEY, credentials=f"user:{KEY}") == (None, 0)


def test_credentials_in_the_url_never_appear_in_errors() -> None:
    secret = "sk-wrong-secret-42"
    err, _ = check_served(server_key=KEY, credentials=f"alice:{secret}")
    assert isinstance(err, FatalBackendError) and err.status == 401
    assert secret not in str(err) and "alice" not in str(err)
    port = free_port()
    backend = quick_backend(f"http://alice:{secret}@127.0.0.1:{port}/v1?api_key={secret}")
    assert secret not in repr(backend)
    unreachable = check(backend)
    assert isinstance(unreachable, FatalBackendError)
    assert secret not in str(unreachable) and secret not in unreachable.message
    assert str(unreachable) == (
        f"cannot reach http://127.0.0.1:{port}/v1/models?api_key=***: connection refused"
    )


def test_a_run_request_with_a_wrong_key_is_fatal_and_sent_once() -> None:
    async def scenario() -> tuple[FatalBackendError, int]:
        async with served(api_key=KEY) as (url, server):
            async with aclosing(quick_backend(url, api_key="sk-nope", max_attempts=5)) as backend:
                with pytest.raises(FatalBackendError) as caught:
                    await backend.complete(mcq_request())
            return caught.value, requests_seen(server)

    err, _ = asyncio.run(scenario())
    assert (err.reason, err.status) == ("unauthorized", 401)
    assert "sk-nope" not in str(err)


# --- unreachable --------------------------------------------------------------------------


def test_a_refused_connection_is_one_line() -> None:
    port = free_port()
    err = check(quick_backend(f"http://127.0.0.1:{port}/v1"))
    assert isinstance(err, FatalBackendError)
    assert (err.reason, err.status, err.message) == ("unreachable", None, "connection refused")
    assert str(err) == f"cannot reach http://127.0.0.1:{port}/v1/models: connection refused"


def test_an_unknown_host_is_one_line() -> None:
    err = check(quick_backend("http://no-such-host.invalid/v1"))
    assert isinstance(err, FatalBackendError)
    assert err.reason == "unreachable"
    assert str(err).startswith("cannot reach http://no-such-host.invalid/v1/models: ")
    assert "\n" not in str(err)


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never answers: a host behind a black-holing proxy."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def test_an_endpoint_that_never_answers_times_out_in_one_line() -> None:
    async def scenario() -> tuple[int, FatalBackendError]:
        async with silent_server() as port:
            backend = quick_backend(f"http://127.0.0.1:{port}/v1")
            async with aclosing(backend):
                with pytest.raises(FatalBackendError) as caught:
                    await backend.check_endpoint(0.5)
            return port, caught.value

    port, err = asyncio.run(scenario())
    assert (err.reason, err.status, err.message) == ("unreachable", None, "no answer within 0.5 s")
    assert str(err) == f"http://127.0.0.1:{port}/v1/models: no answer within 0.5 s"


def test_a_base_url_that_is_not_http_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"^--base-url must be an http\(s\) URL"):
        OpenAIBackend("localhost:8000/v1", "m")
    with pytest.raises(InputError) as caught:
        OpenAIBackend("ftp://bob:hunter22@host/v1", "m")
    assert "hunter22" not in str(caught.value)


# --- URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        ("http://user:sk-123@host:8000/v1", "http://***@host:8000/v1"),
        ("https://sk-123@host/v1", "https://***@host/v1"),
        ("http://u:p@[::1]:80/v1", "http://***@[::1]:80/v1"),
        ("https://h/v1?api-version=2&api-key=abc", "https://h/v1?api-version=2&api-key=***"),
        ("https://h/v1?x=a%20b", "https://h/v1?x=a%20b"),
        ("http://[::1", "<unparsable URL>"),
        ("http://u:p@h:port/v1", "<unparsable URL>"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_url_secrets_and_endpoints() -> None:
    assert url_secrets("http://us%40er:p%3Aw@h/v1?key=k1&x=2") == ["us@er", "p:w", "k1"]
    assert url_secrets("http://h/v1") == []
    assert (
        endpoint_url("https://h/v1/?api-version=2", "models") == "https://h/v1/models?api-version=2"
    )


def test_backend_errors_keep_their_old_two_argument_form() -> None:
    err = BackendError("transport", "vllm failed: boom")
    assert (err.reason, str(err), err.raw, err.status, err.message) == (
        "transport",
        "vllm failed: boom",
        None,
        None,
        None,
    )
