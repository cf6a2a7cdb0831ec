"""The default backend: llama.cpp in-process on the bundled SmolLM2-135M-Instruct GGUF.

No server and no network. Output is constrained to the request's JSON schema by llama.cpp's
grammar. The model is not thread-safe, so calls run one at a time in a worker thread.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

from reasonaqa.backends.base import Backend, ChatRequest, Completion
from reasonaqa.config import embedded_model_name, smollm2_gguf_path
from reasonaqa.errors import InputError


class EmbeddedBackend(Backend):  # subclassed for the protocol's no-op check_endpoint
    name = "embedded"

    def __init__(
        self, model_path: Path | None = None, n_ctx: int = 2048, threads: int | None = None
    ) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as err:  # pragma: no cover - depends on the install
            raise InputError(
                "the embedded backend needs llama-cpp-python: run `make setup` "
                "(CMAKE_ARGS=-DGGML_NATIVE=OFF pip install llama-cpp-python)"
            ) from err
        path = model_path or smollm2_gguf_path()
        self.model = embedded_model_name(model_path)
        self._llama = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=threads or max(1, os.cpu_count() or 1),
            verbose=False,
        )
        self._lock = threading.Lock()

    async def complete(self, request: ChatRequest) -> Completion:
        return await asyncio.to_thread(self._complete_sync, request)

    def _complete_sync(self, request: ChatRequest) -> Completion:
        texts: list[str] = []
        finish: list[str] = []
        prompt_tokens = completion_tokens = 0
        for i in range(request.n):
            seed = None if request.seed is None else request.seed + i
            with self._lock:
                out: Any = self._llama.create_chat_completion(
                    messages=list(request.messages),  # type: ignore[arg-type]
                    response_format={"type": "json_object", "schema": request.schema},
                    temperature=request.temperature,
                    top_p=request.top_p,
                    max_tokens=request.max_tokens,
                    seed=seed,
                    repeat_penalty=1.0,  # a penalty fights the grammar and breaks the JSON
                )
            choice = out["choices"][0]
            texts.append(choice["message"]["content"] or "")
            finish.append(choice.get("finish_reason") or "stop")
            usage = out.get("usage") or {}
            prompt_tokens += int(usage.get("prompt_tokens") or 0)
            completion_tokens += int(usage.get("completion_tokens") or 0)
        return Completion(texts, finish, prompt_tokens, completion_tokens)

    async def aclose(self) -> None:
        self._llama.close()
