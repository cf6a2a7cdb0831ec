"""What an item becomes and what a run counts: finished records and live counters.

The order key that sorts records is ``quality.balance.order_key``: letters are dealt in it.
A ``FinishedRecord`` is final for one record id: accepted, rejected by a quality check (a
valid item we do not want, with its reason), or quarantined (no valid item could be had).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

Status = Literal["accepted", "rejected", "quarantined"]
STATUSES: tuple[Status, ...] = ("accepted", "rejected", "quarantined")


@dataclass(slots=True)
class FinishedRecord:
    """A record ready to commit. ``row`` is a JSON-ready QA row dict.

    A set-aside record keeps why: ``message`` (the check's or validator's words, the server's
    error) and, when a judge decided, ``judge_reply`` (its raw reply).
    """

    record_id: str
    status: Status
    reason: str | None
    split: str
    task: str
    clip_key: str
    order_key: str
    request_keys: Sequence[str]
    row: dict[str, Any]
    message: str | None = None
    judge_reply: str | None = None


@dataclass
class EngineCounters:
    """Live counts of one session for progress and ``_run.json``; durable totals come from
    the journal. ``in_flight`` is a gauge; every other field adds up across workers."""

    calls: int = 0
    cache_hits: int = 0
    in_flight: int = 0
    transport_retries: int = 0  # the backend's own retries (429, 5xx, timeouts)
    length_retries: int = 0
    feedback_retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def totals(self) -> dict[str, int]:
        """The additive counts, for passing a Ray worker's work back to the driver."""
        return {k: v for k, v in asdict(self).items() if k != "in_flight"}

    def usage(self) -> dict[str, int]:
        """This session's LLM usage, by the names ``counts.USAGE_FIELDS`` gives them."""
        return {
            "llm_calls": self.calls,
            "cache_hits": self.cache_hits,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }

    def add(self, totals: dict[str, int]) -> None:
        names = {f.name for f in fields(self)}
        for name, value in totals.items():
            if name in names:
                setattr(self, name, getattr(self, name) + value)
