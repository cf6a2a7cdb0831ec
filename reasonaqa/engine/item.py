"""One work item through the LLM: prepare the request, call, process the reply.

Generation: render the template, ask, retry once with twice the room on ``length``,
validate with the pydantic contract, feed a validation error back once, run the
deterministic checks. Then the second passes (grounding, audio-dependence votes) return
their verdicts, and the row is built once from the item and everything learnt about it.

The outcome is a ``FinishedRecord``: accepted; rejected by a quality check or a well-formed
judge disagreement; or quarantined when no valid item or verdict could be had (transport,
timeout, schema, semantic, length, judge_unreadable). Every call goes through ``CachedLLM``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from reasonaqa.backends.base import ChatRequest, Message
from reasonaqa.config import GenerateConfig
from reasonaqa.engine import requests
from reasonaqa.engine.llm import CachedLLM, ItemFailure
from reasonaqa.engine.records import EngineCounters, FinishedRecord, Status
from reasonaqa.engine.work import WorkItem
from reasonaqa.prompts.store import TemplateStore
from reasonaqa.quality import checks, passes
from reasonaqa.quality.balance import canonical_options, order_key
from reasonaqa.schemas import LLM_CONTRACTS, QUARANTINE_REASONS, DetailItem, McqItem, empty_row

# Check codes that mean the reply broke the contract itself: worth one corrective retry.
CONTRACT_CODES = frozenset({"options_count", "options_duplicate", "answer_not_in_options"})
Parsed = McqItem | DetailItem


@dataclass
class Attempt:
    """What one item used: the request keys it asked (for ``retry-failed``), its last reply."""

    keys: list[str] = field(default_factory=list)
    raw: str | None = None


@dataclass
class PassVerdicts:
    """What the second passes found; ``reason`` is set when the item is to be rejected."""

    grounded: bool | None = None
    audio_votes: list[str] | None = None
    audio_contribution: str | None = None
    reason: str | None = None
    message: str | None = None  # why, in words, when ``reason`` is set
    judge_reply: str | None = None  # the grounding judge's reply behind an ``ungrounded``


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
        attempt = Attempt()
        try:
            parsed, codes = await self._generate(item, attempt)
            verdicts = PassVerdicts(reason=codes[0] if codes else None, message=_explain(codes))
            if verdicts.reason is None and self.has_passes:
                verdicts = await self._second_passes(item, parsed, attempt.keys)
        except ItemFailure as failure:
            row = self._row(item, None, failure.raw, PassVerdicts())
            why = PassVerdicts(
                message=failure.detail or QUARANTINE_REASONS[failure.reason],
                judge_reply=failure.raw if failure.reason == "judge_unreadable" else None,
            )
            return self._finished(item, "quarantined", failure.reason, row, attempt, why)
        row = self._row(item, parsed, attempt.raw, verdicts)
        status: Status = "rejected" if verdicts.reason else "accepted"
        return self._finished(item, status, verdicts.reason, row, attempt, verdicts)

    # -- generation: prepare → call → process --------------------------------------------

    async def _generate(self, item: WorkItem, attempt: Attempt) -> tuple[Parsed, list[str]]:
        """A valid item and its quality-check codes (empty: it passed)."""
        messages = self.templates.get(item.template_id).render(**requests.item_context(item))
        request = requests.generation_request(item, messages, self.config.sampling)
        text = await self._ask(request, attempt)
        parsed, codes, error = self._validate(item, text)
        if parsed is not None:
            return parsed, codes
        # Feed the error back once: small models often fix what they are told.
        self.counters.feedback_retries += 1
        text = await self._ask(requests.feedback_request(request, text, error[1]), attempt)
        parsed, codes, error = self._validate(item, text)
        if parsed is None:
            raise ItemFailure(error[0], text, error[1])
        return parsed, codes

    async def _ask(self, request: ChatRequest, attempt: Attempt) -> str:
        completion = await self.llm(request, attempt.keys)
        attempt.raw = completion.texts[0] if completion.texts else ""
        if completion.finish_reasons[:1] == ["length"]:
            # Cut off: one more try with twice the room, then give up as "length".
            self.counters.length_retries += 1
            completion = await self.llm(requests.longer_request(request), attempt.keys)
            attempt.raw = completion.texts[0] if completion.texts else ""
            if completion.finish_reasons[:1] == ["length"]:
                raise ItemFailure("length", attempt.raw)
        return attempt.raw

    def _validate(self, item: WorkItem, text: str) -> tuple[Any, list[str], tuple[str, str]]:
        """(item, check codes, no error), or (None, [], (quarantine reason, message))."""
        try:
            parsed = LLM_CONTRACTS[item.task].model_validate_json(text)
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

    # -- second passes ------------------------------------------------------------------

    async def _second_passes(self, item: WorkItem, parsed: Parsed, keys: list[str]) -> PassVerdicts:
        """Grounding (a rejection when the judge disagrees) and the audio-dependence votes."""
        verdicts = PassVerdicts()
        if self.config.grounding_enabled:
            verdicts.grounded, reply = await self._grounding(item, parsed, keys)
            if not verdicts.grounded:
                verdicts.reason = "ungrounded"
                verdicts.message = passes.PASS_REASONS["ungrounded"]
                verdicts.judge_reply = reply
                return verdicts
        if isinstance(parsed, McqItem) and self.config.audio_votes > 0:
            votes = await self.audio_votes(item, parsed, keys)
            verdicts.audio_votes = votes
            verdicts.audio_contribution = passes.audio_contribution(votes, parsed.answer)
        return verdicts

    async def grounded(self, item: WorkItem, parsed: Parsed, keys: list[str]) -> bool:
        """Does the LLM, reading the captions, reach the same answer (or judge it supported)?"""
        return (await self._grounding(item, parsed, keys))[0]

    async def _grounding(self, item: WorkItem, parsed: Parsed, keys: list[str]) -> tuple[bool, str]:
        """The grounding verdict and the judge's reply it was read from."""
        captions = list(item.clip.captions)
        if isinstance(parsed, McqItem):
            options = passes.shuffled_for_grounding(list(parsed.options), item.record_id)
            messages = self.templates.get("check_grounding_mcq").render(
                captions=captions, question=parsed.question, options=options
            )
            choice, reply = await self._verdict(item, messages, "choice", keys, passes.read_choice)
            return passes.is_grounded(choice, options, parsed.answer), reply
        messages = self.templates.get("check_grounding_detail").render(
            captions=captions, question=parsed.question, answer=parsed.answer
        )
        supported, reply = await self._verdict(item, messages, "support", keys, passes.read_support)
        return bool(supported), reply

    async def audio_votes(self, item: WorkItem, parsed: McqItem, keys: list[str]) -> list[str]:
        """The options the LLM picks from the question alone, without captions or audio.

        Unreadable votes are dropped; when none is readable the item is quarantined.
        """
        options = passes.shuffled_for_grounding(list(parsed.options), item.record_id + ":audio")
        messages = self.templates.get("check_audio_dependence").render(
            question=parsed.question, options=options
        )
        request = requests.judge_request(
            messages, "choice", self.config.seed, item.record_id, "audio", self.config.audio_votes
        )
        completion = await self.llm(request, keys)
        choices = [passes.read_choice(text) for text in completion.texts]
        readable = [c for c in choices if c is not None]
        if not readable:
            raise ItemFailure("judge_unreadable", completion.texts[0] if completion.texts else "")
        return [passes.chosen_option(choice, options) or "" for choice in readable]

    async def _verdict(
        self,
        item: WorkItem,
        messages: tuple[Message, ...],
        kind: str,
        keys: list[str],
        read: Any,
    ) -> tuple[Any, str]:
        """A judge's verdict and its reply; an unreadable reply is fed back once, then
        quarantined."""
        request = requests.judge_request(
            messages, kind, self.config.seed, item.record_id, "grounding"
        )
        for attempt in range(2):
            completion = await self.llm(request, keys)
            text = completion.texts[0] if completion.texts else ""
            verdict = read(text)
            if verdict is not None:
                return verdict, text
            if attempt == 0:
                self.counters.feedback_retries += 1
                request = requests.feedback_request(request, text, "not a JSON verdict object.")
        raise ItemFailure("judge_unreadable", text, "the judge's reply was not a verdict")

    # -- the row ------------------------------------------------------------------------

    def _row(
        self, item: WorkItem, parsed: Parsed | None, raw: str | None, verdicts: PassVerdicts
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
            grounded=verdicts.grounded,
            audio_votes=verdicts.audio_votes or [],
            audio_contribution=verdicts.audio_contribution,
        )

    def _finished(
        self,
        item: WorkItem,
        status: Status,
        reason: str | None,
        row: dict[str, Any],
        attempt: Attempt,
        why: PassVerdicts,
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
            message=why.message if status != "accepted" else None,
            judge_reply=why.judge_reply if status != "accepted" else None,
        )


def _explain(codes: list[str]) -> str | None:
    """The failing checks in words, main reason first."""
    return "; ".join(checks.REASONS[code] for code in codes) if codes else None


def _short_error(err: ValidationError) -> str:
    parts = []
    for e in err.errors()[:3]:
        where = ".".join(str(p) for p in e["loc"]) or "reply"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts) + "."
