"""The session history of a run: one entry per ``generate`` (or ``retry-failed``) session.

Kept in the journal's ``meta`` table, so it is as durable as the records: a rerun appends
its own entry and never rewrites an earlier one (a no-op rerun adds an entry with 0 calls).
A run's LLM calls and tokens are the sums over its entries; an interrupted session is
recorded too, since its calls were paid for.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import Any

from reasonaqa.engine.counts import USAGE_FIELDS
from reasonaqa.engine.journal import Journal
from reasonaqa.engine.records import EngineCounters

META_KEY = "sessions"


@dataclass(frozen=True)
class SessionEntry:
    started_at: str
    finished_at: str
    state: str  # "finished" or "interrupted"
    items: int  # records finished in this session
    llm_calls: int
    cache_hits: int
    prompt_tokens: int
    completion_tokens: int
    transport_retries: int
    length_retries: int
    feedback_retries: int

    @classmethod
    def of(
        cls, started: dt.datetime, state: str, items: int, counters: EngineCounters
    ) -> SessionEntry:
        return cls(
            started_at=_stamp(started),
            finished_at=_stamp(dt.datetime.now(dt.UTC)),
            state=state,
            items=items,
            transport_retries=counters.transport_retries,
            length_retries=counters.length_retries,
            feedback_retries=counters.feedback_retries,
            **counters.usage(),
        )


def load_sessions(journal: Journal) -> list[dict[str, Any]]:
    saved = journal.get_meta(META_KEY)
    return list(json.loads(saved)) if saved else []


def append_session(journal: Journal, entry: SessionEntry) -> list[dict[str, Any]]:
    """Add ``entry`` to the run's history; returns the whole history."""
    sessions = [*load_sessions(journal), asdict(entry)]
    journal.set_meta(META_KEY, json.dumps(sessions))
    return sessions


def usage_totals(sessions: list[dict[str, Any]]) -> dict[str, int]:
    """LLM calls and tokens summed over the sessions: the run's cumulative usage."""
    return {name: sum(int(s.get(name, 0)) for s in sessions) for name in USAGE_FIELDS}


def _stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")
