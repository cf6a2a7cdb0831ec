"""Backend by name. Optional backends import their heavy dependencies only when chosen."""

from __future__ import annotations

from pathlib import Path

from reasonaqa.backends.base import Backend
from reasonaqa.config import LLMSettings
from reasonaqa.errors import InputError


def make_backend(config: LLMSettings) -> Backend:
    if config.backend == "embedded":
        from reasonaqa.backends.embedded import EmbeddedBackend

        model_path = Path(config.model) if config.model else None
        return EmbeddedBackend(model_path=model_path)
    if config.backend == "openai":
        from reasonaqa.backends.openai import OpenAIBackend

        if not config.base_url or not config.model:
            raise InputError("the openai backend needs --base-url and --model")
        return OpenAIBackend(
            base_url=config.base_url,
            model=config.model,
            concurrency=config.in_flight,
            timeout_s=config.timeout_s,
            max_attempts=config.max_attempts,
        )
    if config.backend == "vllm":
        from reasonaqa.backends.vllm import VllmBackend

        if not config.model:
            raise InputError("the vllm backend needs --model (a Hugging Face model folder or id)")
        return VllmBackend(model=config.model, **config.vllm.model_dump())
    raise InputError(f"unknown backend {config.backend!r}")
