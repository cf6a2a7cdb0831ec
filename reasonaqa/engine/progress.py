"""Progress from durable state: a bar for people, ``_progress.json`` for machines.

Totals start from what the journal already holds, so a resumed run shows true totals, and
rates count only this session's work, so the ETA is honest.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm import tqdm

from reasonaqa.engine.records import EngineCounters
from reasonaqa.storage.atomic import write_text_atomic


class Progress:
    def __init__(
        self,
        path: Path,
        total: int,
        done: Counter[str],
        counters: EngineCounters,
        show: bool,
    ) -> None:
        self.path = path
        self.total = total
        self.done = done  # status -> count, already including earlier sessions
        self.counters = counters
        self._start = time.monotonic()
        self._start_done = sum(done.values())
        self._bar = tqdm(
            total=total,
            initial=self._start_done,
            disable=not show,
            unit="item",
            dynamic_ncols=True,
            desc="generate",
        )

    def record(self, status: str) -> None:
        self.done[status] += 1
        self._bar.update(1)

    def snapshot(self, state: str) -> dict[str, Any]:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        finished = sum(self.done.values())
        rate = (finished - self._start_done) / elapsed
        remaining = self.total - finished
        return {
            "state": state,
            # Who writes this file: a "running" state whose process is gone was killed.
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "total": self.total,
            "done": finished,
            "accepted": self.done["accepted"],
            "rejected": self.done["rejected"],
            "quarantined": self.done["quarantined"],
            "in_flight": self.counters.in_flight,
            "llm_calls": self.counters.calls,
            "cache_hits": self.counters.cache_hits,
            "retries": self.counters.transport_retries,
            "length_retries": self.counters.length_retries,
            "feedback_retries": self.counters.feedback_retries,
            "items_per_s": round(rate, 2),
            "requests_per_s": round(self.counters.calls / elapsed, 2),
            "tokens_per_s": round(self.counters.completion_tokens / elapsed, 1),
            "eta_s": round(remaining / rate, 1) if rate > 0 else None,
            "elapsed_s": round(elapsed, 1),
            "updated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }

    def refresh(self, state: str = "running") -> None:
        snap = self.snapshot(state)
        write_text_atomic(self.path, json.dumps(snap, indent=2) + "\n")
        self._bar.set_postfix(
            ok=snap["accepted"],
            rej=snap["rejected"],
            quar=snap["quarantined"],
            fly=snap["in_flight"],
            retry=snap["retries"],
            refresh=False,
        )

    def close(self, state: str) -> None:
        self.refresh(state)
        self._bar.close()
