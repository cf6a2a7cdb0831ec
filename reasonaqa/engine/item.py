"""One work item through the LLM: ask, validate, feed errors back once, check, second passes.

The outcome is a ``FinishedRecord``: accepted; rejected by a quality check (a valid item we
do not want); or quarantined (no valid item could be had: transport, timeout, schema,
semantic, length). Every LLM call goes through ``CachedLLM``, so a resumed run pays for no
call twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pydantic import ValidationError

from reasonaqa.backends.base import Backend, BackendError, ChatRequest, Completion, request_key
from reasonaqa.config import GenerateConfig
from reasonaqa.engine.journal import FinishedRecord
from reasonaqa.engine.work import FOCUS_DESCRIPTIONS, WorkItem, derive_seed
from reasonaqa.prompts import TemplateStore
from reasonaqa.quality import checks, passes
from reasonaqa.quality.balance import canonical_options
from reasonaqa.schemas import (
    ChoiceVerdict,
    DetailItem,
    McqItem,
    SupportVerdict,
    empty_row,
    llm_json_schema,
)

# Check codes that mean the reply broke the contract itself: worth one corrective retry.
CONTRACT_CODES = frozenset({"options_count", "options_duplicate", "answer_not_in_options"})
CONTRACTS: dict[str, type[McqItem] | type[DetailItem]] = {"mcq": McqItem, "detail": DetailItem}
SCHEMAS = {
    name: llm_json_schema(model)
    for name, model in {
        "mcq": McqItem,
        "detail": DetailItem,
        "choice": ChoiceVerdict,
        "support": SupportVerdict,
    }.items()
}


@dataclass
class EngineCounters:
    """Live counts for progress; durable totals come from the journal."""

    calls: int = 0
    cache_hits: int = 0
    in_flight: int = 0
    length_retries: int = 0
    feedback_retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ItemFailure(Exception):
    def __init__(self, reason: str, raw: str | None, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.raw = raw


class ResponseStore(Protocol):
    """Where answers are cached: the journal, or a Ray worker's memory until the driver commits."""

    def get_response(self, key: str) -> Completion | None: ...

    def put_response(self, key: str, completion: Completion) -> None: ...


class MemoryResponses:
    """A worker-side store: answers pass back to the driver, which journals them."""

    def __init__(self) -> None:
        self.new: dict[str, Completion] = {}

    def get_response(self, key: str) -> Completion | None:
        return self.new.get(key)

    def put_response(self, key: str, completion: Completion) -> None:
        self.new[key] = completion


class CachedLLM:
    """Store first, backend second; remembers which request keys an item used."""

    def __init__(self, backend: Backend, store: ResponseStore, counters: EngineCounters) -> None:
        self.backend = backend
        self.store = store
        self.counters = counters

    async def __call__(self, request: ChatRequest, keys: list[str]) -> Completion:
        key = request_key(request, self.backend.model)
        keys.append(key)
        cached = self.store.get_response(key)
        if cached is not None:
            self.counters.cache_hits += 1
            return cached
        if not self.backend.accepts_seed:
            request = replace(request, seed=None)
        self.counters.in_flight += 1
        try:
            completion = await self.backend.complete(request)
        except BackendError as err:
            raise ItemFailure(err.reason, err.raw, str(err)) from err
        finally:
            self.counters.in_flight -= 1
        self.counters.calls += 1
        self.counters.prompt_tokens += completion.prompt_tokens
        self.counters.completion_tokens += completion.completion_tokens
        self.store.put_response(key, completion)
        return completion


@dataclass
class _Attempt:
    keys: list[str] = field(default_factory=list)
    raw: str | None = None


class ItemProcessor:
    def __init__(
        self,
        config: GenerateConfig,
        templates: TemplateStore,
        llm: CachedLLM,
        counters: EngineCounters,
    ) -> None:
        self.config = config
        self.templates = templates
        self.llm = llm
        self.counters = counters
        self.has_passes = config.grounding_enabled or config.audio_votes > 0

    async def process(self, item: WorkItem) -> FinishedRecord:
        attempt = _Attempt()
        try:
            parsed, codes = await self._generate(item, attempt)
            row = self._row(item, parsed, attempt.raw)
            if codes:
                reason: str | None = codes[0]
            elif self.has_passes:
                reason = await self._second_passes(item, parsed, row, attempt)
            else:
                reason = None
        except ItemFailure as failure:
            row = self._row(item, None, failure.raw)
            return self._finished(item, "quarantined", failure.reason, row, attempt)
        if reason:
            return self._finished(item, "rejected", reason, row, attempt)
        return self._finished(item, "accepted", None, row, attempt)

    # -- generation ---------------------------------------------------------------------

    async def _generate(
        self, item: WorkItem, attempt: _Attempt
    ) -> tuple[McqItem | DetailItem, list[str]]:
        """A valid item and its quality-check codes (empty: it passed)."""
        template = self.templates.get(item.template_id)
        messages = template.render(
            captions=list(item.clip.captions),
            caption=item.caption,
            focus=item.focus,
            focus_description=FOCUS_DESCRIPTIONS[item.focus],
            dataset=item.clip.dataset,
        )
        sampling = self.config.sampling
        request = ChatRequest(
            messages=messages,
            schema=SCHEMAS[item.task],
            schema_name=CONTRACTS[item.task].__name__,
            max_tokens=sampling.max_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            seed=item.seed,
        )
        text = await self._ask(request, attempt)
        parsed, codes, error = self._validate(item, text)
        if parsed is not None:
            return parsed, codes
        # Feed the error back once: small models often fix what they are told.
        self.counters.feedback_retries += 1
        retry = replace(
            request,
            messages=(
                *request.messages,
                {"role": "assistant", "content": text},
                {
                    "role": "user",
                    "content": f"That reply was invalid: {error[1]} "
                    "Reply again with only the corrected JSON object.",
                },
            ),
        )
        text = await self._ask(retry, attempt)
        parsed, codes, error = self._validate(item, text)
        if parsed is None:
            raise ItemFailure(error[0], text, error[1])
        return parsed, codes

    async def _ask(self, request: ChatRequest, attempt: _Attempt) -> str:
        completion = await self.llm(request, attempt.keys)
        attempt.raw = completion.texts[0] if completion.texts else ""
        if completion.finish_reasons[:1] == ["length"]:
            # Cut off: one more try with twice the room, then give up as "length".
            self.counters.length_retries += 1
            longer = replace(request, max_tokens=request.max_tokens * 2)
            completion = await self.llm(longer, attempt.keys)
            attempt.raw = completion.texts[0] if completion.texts else ""
            if completion.finish_reasons[:1] == ["length"]:
                raise ItemFailure("length", attempt.raw)
        return attempt.raw

    def _validate(self, item: WorkItem, text: str) -> tuple[Any, list[str], tuple[str, str]]:
        """(item, check codes, no error), or (None, [], (quarantine reason, message))."""
        try:
            parsed = CONTRACTS[item.task].model_validate_json(text)
        except ValidationError as err:
            return None, [], ("schema", _short_error(err))
        captions = list(item.clip.captions)
        if isinstance(parsed, McqItem):
            codes = checks.check_mcq(parsed, captions)
            broken = sorted(set(codes) & CONTRACT_CODES)
            if broken:
                message = "; ".join(checks.REASONS[c] for c in broken) + "."
                return None, [], ("semantic", message)
            return parsed, codes, ("", "")
        return parsed, checks.check_detail(parsed, captions), ("", "")

    # -- quality ------------------------------------------------------------------------

    async def _second_passes(
        self, item: WorkItem, parsed: McqItem | DetailItem, row: dict[str, Any], attempt: _Attempt
    ) -> str | None:
        """Grounding (a rejection reason when it fails) and the audio-dependence votes."""
        if self.config.grounding_enabled:
            grounded = await self.grounded(item, parsed, attempt.keys)
            row["grounded"] = grounded
            if not grounded:
                return "ungrounded"
        if isinstance(parsed, McqItem) and self.config.audio_votes > 0:
            votes = await self.audio_votes(item, parsed, attempt.keys)
            row["audio_votes"] = votes
            row["audio_contribution"] = passes.audio_contribution(votes, parsed.answer)
        return None

    async def grounded(self, item: WorkItem, parsed: McqItem | DetailItem, keys: list[str]) -> bool:
        """Does the LLM, reading the captions, reach the same answer (or judge it supported)?"""
        captions = list(item.clip.captions)
        if isinstance(parsed, McqItem):
            options = passes.shuffled_for_grounding(list(parsed.options), item.record_id)
            messages = self.templates.get("check_grounding_mcq").render(
                captions=captions, question=parsed.question, options=options
            )
            verdict = await self._verdict(item, "grounding", messages, "choice", keys)
            return verdict is not None and passes.is_grounded(verdict, options, parsed.answer)
        messages = self.templates.get("check_grounding_detail").render(
            captions=captions, question=parsed.question, answer=parsed.answer
        )
        verdict = await self._verdict(item, "grounding", messages, "support", keys)
        return bool(verdict)

    async def audio_votes(self, item: WorkItem, parsed: McqItem, keys: list[str]) -> list[str]:
        """The options the LLM picks from the question alone, without captions or audio."""
        options = passes.shuffled_for_grounding(list(parsed.options), item.record_id + ":audio")
        messages = self.templates.get("check_audio_dependence").render(
            question=parsed.question, options=options
        )
        request = self._pass_request(item, "audio", messages, "choice", n=self.config.audio_votes)
        completion = await self.llm(request, keys)
        return [
            passes.chosen_option(_choice(text) or "", options) or "" for text in completion.texts
        ]

    async def _verdict(
        self,
        item: WorkItem,
        name: str,
        messages: tuple[dict[str, str], ...],
        kind: str,
        keys: list[str],
    ) -> Any:
        completion = await self.llm(self._pass_request(item, name, messages, kind), keys)
        text = completion.texts[0] if completion.texts else ""
        return _choice(text) if kind == "choice" else _supported(text)

    def _pass_request(
        self, item: WorkItem, name: str, messages: tuple[dict[str, str], ...], kind: str, n: int = 1
    ) -> ChatRequest:
        # Judges answer briefly and near-greedily; votes keep some temperature to differ.
        return ChatRequest(
            messages=messages,
            schema=SCHEMAS[kind],
            schema_name=kind,
            max_tokens=128,
            temperature=0.7 if n > 1 else 0.0,
            top_p=1.0,
            seed=derive_seed(self.config.seed, item.record_id, name),
            n=n,
        )

    # -- rows ---------------------------------------------------------------------------

    def _row(
        self, item: WorkItem, parsed: McqItem | DetailItem | None, raw: str | None
    ) -> dict[str, Any]:
        template = self.templates.get(item.template_id)
        clip = item.clip
        options: list[str] = []
        answer = parsed.answer if parsed else ""
        if isinstance(parsed, McqItem):
            options = canonical_options(list(parsed.options), parsed.answer, item.record_id)
            answer = options[0]  # the option's own text, which the answer may differ from in case
        return empty_row(
            record_id=item.record_id,
            origin="synthetic",
            source=item.source,
            dataset=clip.dataset,
            split=clip.split,
            clip_id=clip.clip_id,
            audio_path=clip.audio_path,
            captions=list(clip.captions),
            task=item.task,
            question=parsed.question if parsed else "",
            answer=answer,
            options=options,
            focus=parsed.focus if parsed else item.focus,
            caption_index=item.caption_index,
            sample_index=item.sample_index,
            raw=raw,
            model=self.llm.backend.model,
            template_id=item.template_id,
            template_hash=template.hash,
            seed=item.seed,
            created_at=dt.datetime.now(dt.UTC).isoformat(),
        )

    def _finished(
        self,
        item: WorkItem,
        status: str,
        reason: str | None,
        row: dict[str, Any],
        attempt: _Attempt,
    ) -> FinishedRecord:
        return FinishedRecord(
            record_id=item.record_id,
            status=status,
            reason=reason,
            split=item.clip.split,
            task=item.task,
            clip_key=item.clip_key,
            order_key=order_key(self.config.seed, item.record_id),
            request_keys=attempt.keys,
            row=row,
        )


def order_key(seed: int, record_id: str) -> str:
    """A seeded, order-free sort key: finalize walks records in this order."""
    return hashlib.blake2b(f"{seed}\x1f{record_id}".encode(), digest_size=12).hexdigest()


def _short_error(err: ValidationError) -> str:
    parts = []
    for e in err.errors()[:3]:
        where = ".".join(str(p) for p in e["loc"]) or "reply"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts) + "."


def _choice(text: str) -> str | None:
    try:
        return ChoiceVerdict.model_validate_json(text).answer
    except ValidationError:
        return None


def _supported(text: str) -> bool | None:
    try:
        return SupportVerdict.model_validate_json(text).supported
    except (ValidationError, json.JSONDecodeError):
        return None
