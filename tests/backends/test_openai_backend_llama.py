"""The OpenAI backend against llama.cpp's real server (llama-cpp-python) on the bundled GGUF."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import aclosing

import pytest

from reasonaqa.backends.base import BackendError
from reasonaqa.backends.openai import OpenAIBackend
from reasonaqa.testing.backend_helpers import mcq_request
from reasonaqa.testing.servers import llama_server, llama_unavailable

pytestmark = pytest.mark.slow


@pytest.fixture
def llama_url() -> Iterator[str]:
    if why := llama_unavailable():
        pytest.skip(why)
    with llama_server(n_ctx=512) as url:
        yield url


def test_check_length_and_a_good_answer_from_llama_cpp(llama_url: str) -> None:
    async def scenario() -> tuple[str | None, BackendError, str, str]:
        backend = OpenAIBackend(llama_url, "smollm2", api_key="", concurrency=1)
        async with aclosing(backend):
            note = await backend.check_endpoint()
            with pytest.raises(BackendError) as too_long:
                await backend.complete(mcq_request(user="A dog barks. " * 400))
            short = mcq_request(user="Write one multiple-choice question about a barking dog.")
            completion = await backend.complete(short)
            return note, too_long.value, completion.texts[0], backend.schema_mode

    note, err, text, schema_mode = asyncio.run(scenario())
    # llama.cpp lists the GGUF path as the model id and answers to any name: a note, no error.
    assert note is not None and note.startswith("model 'smollm2' is not among the models")
    assert (err.reason, err.status) == ("length", 400)
    assert err.message is not None and "maximum context length is 512 tokens" in err.message
    # json_schema got HTTP 500, json_object worked; whether the 135M model's JSON meets the
    # contract is the engine's business, a string is the transport's.
    assert schema_mode == "json_object"
    assert isinstance(text, str) and text.lstrip().startswith("{")
