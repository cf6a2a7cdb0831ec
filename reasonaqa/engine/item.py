"""One generation request through the LLM: prepare, call, process the reply into records.

A request serves a ``WorkGroup``: one item, or with ``--per-request K`` the K samples of one
caption, asked for together as ``{"items": [...]}``. Generation: render the template, ask,
retry once with twice the room on ``length``, validate each item with the pydantic contract,
feed the errors back once when a pending item is invalid or missing, run the deterministic
checks. Then each valid item's second passes (``judges.SecondPasses``) return their verdicts,
and its row is built once from the item and everything learnt about it.

Each pending item ends as a ``FinishedRecord``: accepted; rejected by a quality check or a
well-formed judge disagreement; or quarantined when no valid item or verdict could be had
(transport, timeout, schema, semantic, length, judge_unreadable). A request that fails
quarantines every pending item of its group; an item still invalid after the feedback is
quarantined alone, and its valid siblings are kept. Every call goes through ``CachedLLM``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from reasonaqa.backends.base import ChatRequest
from reasonaqa.config import GenerateConfig
from reasonaqa.engine import requests
from reasonaqa.engine.judges import Parsed, PassVerdicts, SecondPasses
from reasonaqa.engine.llm import CachedLLM, ItemFailure
from reasonaqa.engine.records import EngineCounters, FinishedRecord, Status
from reasonaqa.engine.work import WorkGroup, WorkItem
from reasonaqa.prompts.store import TemplateStore
from reasonaqa.quality import checks
from reasonaqa.quality.balance import canonical_options, order_key
from reasonaqa.schemas import (
    ITEMS_KEY,
    LLM_CONTRACTS,
    QUARANTINE_REASONS,
    McqItem,
    QuarantineReason,
    empty_row,
)

# Check codes that mean the reply broke the contract itself: worth one corrective retry.
CONTRACT_CODES = frozenset({"options_count", "options_duplicate", "answer_not_in_options"})


@dataclass(slots=True)
class Valid:
    """An item that kept its contract, its quality-check codes (empty: it passed), its JSON."""

    parsed: Parsed
    codes: list[str]
    raw: str


@dataclass(slots=True)
class Invalid:
    """An item that could not be had: the quarantine reason, what was wrong, the last reply."""

    reason: QuarantineReason
    message: str
    raw: str | None


Outcome = Valid | Invalid


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
        self.passes = SecondPasses(config, templates, llm, counters)

    async def process(self, group: WorkGroup) -> list[FinishedRecord]:
        """The finished records of the group's pending items."""
        keys: list[str] = []
        try:
            outcomes = await self._generate(group, keys)
        except ItemFailure as failure:
            outcomes = [Invalid(failure.reason, str(failure), failure.raw)] * len(group.items)
        todo = _pending_positions(group)
        if len(todo) == 1:  # the common case (K=1): no task to schedule
            return [await self._finish(group.items[todo[0]], outcomes[todo[0]], keys)]
        finished = (self._finish(group.items[i], outcomes[i], keys) for i in todo)
        return list(await asyncio.gather(*finished))

    async def _finish(
        self, item: WorkItem, outcome: Outcome, gen_keys: list[str]
    ) -> FinishedRecord:
        """Second passes for a valid item that passed its checks, then its record."""
        keys = list(gen_keys)  # the request keys this item used, for ``retry-failed``
        if isinstance(outcome, Invalid):
            row = self._row(item, None, outcome.raw, PassVerdicts())
            why = PassVerdicts(message=outcome.message or QUARANTINE_REASONS[outcome.reason])
            return self._finished(item, "quarantined", outcome.reason, row, keys, why)
        codes = outcome.codes
        verdicts = PassVerdicts(reason=codes[0] if codes else None, message=_explain(codes))
        if verdicts.reason is None and self.passes.enabled:
            captions = list(item.clip.captions)
            try:
                verdicts = await self.passes.run(item.record_id, captions, outcome.parsed, keys)
            except ItemFailure as failure:
                row = self._row(item, None, failure.raw, PassVerdicts())
                why = PassVerdicts(
                    message=failure.detail or QUARANTINE_REASONS[failure.reason],
                    judge_reply=failure.raw if failure.reason == "judge_unreadable" else None,
                )
                return self._finished(item, "quarantined", failure.reason, row, keys, why)
        row = self._row(item, outcome.parsed, outcome.raw, verdicts)
        status: Status = "rejected" if verdicts.reason else "accepted"
        return self._finished(item, status, verdicts.reason, row, keys, verdicts)

    # -- generation: prepare → call → process --------------------------------------------

    async def _generate(self, group: WorkGroup, keys: list[str]) -> list[Outcome]:
        """An outcome per item of the group, in order."""
        items = group.items
        context = requests.group_context(items)
        messages = self.templates.get(group.first.template_id).render(**context)
        request = requests.generation_request(items, messages, self.config.sampling)
        text = await self._ask(request, keys)
        outcomes = self._validate(items, text)
        if all(isinstance(outcomes[i], Valid) for i in _pending_positions(group)):
            return outcomes
        # Feed the errors back once: small models often fix what they are told.
        self.counters.feedback_retries += 1
        feedback = requests.feedback_request(request, text, _feedback(outcomes))
        try:
            again = self._validate(items, await self._ask(feedback, keys))
        except ItemFailure as failure:
            again = [Invalid(failure.reason, str(failure), failure.raw)] * len(items)
        return [o if isinstance(o, Valid) else a for o, a in zip(outcomes, again, strict=True)]

    async def _ask(self, request: ChatRequest, keys: list[str]) -> str:
        completion = await self.llm(request, keys)
        raw = completion.texts[0] if completion.texts else ""
        if completion.finish_reasons[:1] == ["length"]:
            # Cut off: one more try with twice the room, then give up as "length".
            self.counters.length_retries += 1
            completion = await self.llm(requests.longer_request(request), keys)
            raw = completion.texts[0] if completion.texts else ""
            if completion.finish_reasons[:1] == ["length"]:
                raise ItemFailure("length", raw)
        return raw

    def _validate(self, items: list[WorkItem], text: str) -> list[Outcome]:
        """An outcome per item from one reply: the whole reply, or its ``items`` list."""
        task, captions = items[0].task, list(items[0].clip.captions)
        contract = LLM_CONTRACTS[task]
        if len(items) > 1:
            return _validate_list(contract, len(items), captions, text)
        try:
            parsed = contract.model_validate_json(text)
        except ValidationError as err:
            return [Invalid("schema", _short_error(err), text)]
        return [_checked(parsed, captions, text, "")]

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
        keys: list[str],
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
            request_keys=keys,
            row=row,
            message=why.message if status != "accepted" else None,
            judge_reply=why.judge_reply if status != "accepted" else None,
        )


def _explain(codes: list[str]) -> str | None:
    """The failing checks in words, main reason first."""
    return "; ".join(checks.REASONS[code] for code in codes) if codes else None


def _checked(parsed: Parsed, captions: list[str], raw: str, where: str) -> Outcome:
    """Run the deterministic checks; a broken contract (four distinct options, the answer one
    of them) makes the item invalid ("semantic"), any other code is a rejection reason."""
    if isinstance(parsed, McqItem):
        codes = checks.check_mcq(parsed, captions)
        broken = sorted(set(codes) & CONTRACT_CODES)
        if broken:
            message = where + "; ".join(checks.REASONS[c] for c in broken) + "."
            return Invalid("semantic", message, raw)
        return Valid(parsed, codes, raw)
    return Valid(parsed, checks.check_detail(parsed, captions), raw)


def _validate_list(
    contract: type[Parsed], count: int, captions: list[str], text: str
) -> list[Outcome]:
    """An outcome per position of a K-item reply; each item is validated on its own, so one
    broken or missing item costs only itself. An item's raw text is its own JSON."""
    listed = _listed_items(text)
    if isinstance(listed, str):
        return [Invalid("schema", listed, text)] * count
    outcomes: list[Outcome] = []
    for i in range(count):
        where = f"{ITEMS_KEY}.{i}"
        if i >= len(listed):
            outcomes.append(Invalid("schema", f"{where}: missing.", text))
            continue
        try:
            parsed = contract.model_validate(listed[i])
        except ValidationError as err:
            outcomes.append(Invalid("schema", _short_error(err, where), text))
            continue
        outcomes.append(_checked(parsed, captions, orjson.dumps(listed[i]).decode(), f"{where}: "))
    return outcomes


def _listed_items(text: str) -> list[Any] | str:
    """The ``items`` list of a K-item reply, or what is wrong with the reply."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return "reply: not valid JSON."
    if not isinstance(value, dict) or not isinstance(value.get(ITEMS_KEY), list):
        return f'reply: not a JSON object with an "{ITEMS_KEY}" list.'
    return list(value[ITEMS_KEY])


def _feedback(outcomes: list[Outcome]) -> str:
    """Every distinct error of a reply, in item order: what the model is told to fix."""
    messages = [o.message for o in outcomes if isinstance(o, Invalid)]
    return " ".join(dict.fromkeys(messages))


def _pending_positions(group: WorkGroup) -> list[int]:
    if group.pending is group.items:
        return list(range(len(group.items)))
    pending = {item.record_id for item in group.pending}
    return [i for i, item in enumerate(group.items) if item.record_id in pending]


def _short_error(err: ValidationError, prefix: str = "") -> str:
    parts = []
    for e in err.errors()[:3]:
        where = ".".join([*([prefix] if prefix else []), *map(str, e["loc"])]) or "reply"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts) + "."
