"""The second passes over one valid item: grounding, then the audio-dependence votes.

``generate`` (through ``ItemProcessor``) and ``reasonaqa check --llm`` both call
``SecondPasses.run``, so an item gets the same verdict from either. Everything is keyed by a
record id: the option shuffles and the judges' seeds derive from it, so the same item under
the same id sends the same requests, which the response cache then answers for free.

Grounding needs the captions: an item without any (an MMAU question, say) gets only the
votes. A well-formed disagreement rejects the item as ``ungrounded``; a judge that never
replies with a verdict raises ``ItemFailure("judge_unreadable")``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reasonaqa.backends.base import Message
from reasonaqa.config import LLMSettings
from reasonaqa.engine import requests
from reasonaqa.engine.llm import CachedLLM, ItemFailure
from reasonaqa.engine.records import EngineCounters
from reasonaqa.prompts.store import TemplateStore
from reasonaqa.quality import passes
from reasonaqa.schemas import DetailItem, McqItem

Parsed = McqItem | DetailItem


@dataclass
class PassVerdicts:
    """What the second passes found; ``reason`` is set when the item is to be rejected."""

    grounded: bool | None = None
    audio_votes: list[str] | None = None
    audio_contribution: str | None = None
    reason: str | None = None
    message: str | None = None  # why, in words, when ``reason`` is set
    judge_reply: str | None = None  # the grounding judge's reply behind an ``ungrounded``


class SecondPasses:
    def __init__(
        self,
        settings: LLMSettings,
        templates: TemplateStore,
        llm: CachedLLM,
        counters: EngineCounters,
    ) -> None:
        self.settings = settings
        self.templates = templates
        self.llm = llm
        self.counters = counters

    @property
    def enabled(self) -> bool:
        return self.settings.grounding_enabled or self.settings.audio_votes > 0

    async def run(
        self, key: str, captions: list[str], parsed: Parsed, keys: list[str]
    ) -> PassVerdicts:
        """Grounding (a rejection when the judge disagrees), then the audio-dependence votes.

        ``key`` is the record id; the request keys used are appended to ``keys``.
        """
        verdicts = PassVerdicts()
        if self.settings.grounding_enabled and captions:
            verdicts.grounded, reply = await self._grounding(key, captions, parsed, keys)
            if not verdicts.grounded:
                verdicts.reason = "ungrounded"
                verdicts.message = passes.PASS_REASONS["ungrounded"]
                verdicts.judge_reply = reply
                return verdicts
        if isinstance(parsed, McqItem) and self.settings.audio_votes > 0:
            votes = await self.audio_votes(key, parsed, keys)
            verdicts.audio_votes = votes
            verdicts.audio_contribution = passes.audio_contribution(votes, parsed.answer)
        return verdicts

    async def grounded(
        self, key: str, captions: list[str], parsed: Parsed, keys: list[str]
    ) -> bool:
        """Does the LLM, reading the captions, reach the same answer (or judge it supported)?"""
        return (await self._grounding(key, captions, parsed, keys))[0]

    async def _grounding(
        self, key: str, captions: list[str], parsed: Parsed, keys: list[str]
    ) -> tuple[bool, str]:
        """The grounding verdict and the judge's reply it was read from."""
        if isinstance(parsed, McqItem):
            options = passes.shuffled_for_grounding(list(parsed.options), key)
            messages = self.templates.get("check_grounding_mcq").render(
                captions=captions, question=parsed.question, options=options
            )
            choice, reply = await self._verdict(key, messages, "choice", keys, passes.read_choice)
            return passes.is_grounded(choice, options, parsed.answer), reply
        messages = self.templates.get("check_grounding_detail").render(
            captions=captions, question=parsed.question, answer=parsed.answer
        )
        supported, reply = await self._verdict(key, messages, "support", keys, passes.read_support)
        return bool(supported), reply

    async def audio_votes(self, key: str, parsed: McqItem, keys: list[str]) -> list[str]:
        """The options the LLM picks from the question alone, without captions or audio.

        Unreadable votes are dropped; when none is readable the item is quarantined.
        """
        options = passes.shuffled_for_grounding(list(parsed.options), key + ":audio")
        messages = self.templates.get("check_audio_dependence").render(
            question=parsed.question, options=options
        )
        request = requests.judge_request(
            messages, "choice", self.settings.seed, key, "audio", self.settings.audio_votes
        )
        completion = await self.llm(request, keys)
        choices = [passes.read_choice(text) for text in completion.texts]
        readable = [c for c in choices if c is not None]
        if not readable:
            raise ItemFailure("judge_unreadable", completion.texts[0] if completion.texts else "")
        return [passes.chosen_option(choice, options) or "" for choice in readable]

    async def _verdict(
        self,
        key: str,
        messages: tuple[Message, ...],
        kind: str,
        keys: list[str],
        read: Callable[[str], Any],
    ) -> tuple[Any, str]:
        """A judge's verdict and its reply; an unreadable reply is fed back once, then
        quarantined."""
        request = requests.judge_request(messages, kind, self.settings.seed, key, "grounding")
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
