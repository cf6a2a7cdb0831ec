"""Progress from durable state: a bar for people, ``_progress.json`` for machines.

Both show the run's ``RunCounts`` (``engine.tally``): totals start from what the journal
already holds, so a resumed run shows true totals, and LLM usage adds the earlier sessions'
to this one's. Rates count only this session's work, so the ETA is honest. The bar's words
are computed when it is drawn, so they are always in step with its item count; once the run
is finalized, the "done" snapshot carries the final counts (after duplicate removal).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tqdm import tqdm

from reasonaqa.engine.counts import RunCounts, usd
from reasonaqa.engine.records import EngineCounters
from reasonaqa.engine.tally import tally
from reasonaqa.storage.atomic import write_text_atomic

Prices = tuple[float | None, float | None]  # USD per million prompt / completion tokens
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} items{postfix}"


class _Bar(tqdm):  # type: ignore[type-arg]
    """A tqdm bar whose postfix is described at draw time, never stale."""

    def __init__(self, describe: Callable[[], str], **kwargs: Any) -> None:
        self._describe = describe  # set first: tqdm may draw while it initializes
        super().__init__(**kwargs)

    @property
    def format_dict(self) -> dict[str, Any]:
        values = super().format_dict
        values["postfix"] = self._describe()
        return values


class Progress:
    def __init__(
        self,
        path: Path,
        total: int,
        done: Counter[tuple[str, str | None]],
        earlier_usage: Mapping[str, int],
        counters: EngineCounters,
        prices: Prices,
        show: bool,
    ) -> None:
        self.path = path
        self.total = total
        self.done = done  # (status, reason) -> records, already including earlier sessions
        self.earlier_usage = earlier_usage
        self.counters = counters
        self.prices = prices
        self.final: RunCounts | None = None
        self._start = time.monotonic()
        self._start_done = sum(done.values())
        self._bar = _Bar(
            self._describe,
            total=total,
            initial=self._start_done,
            disable=not show,
            unit="item",
            dynamic_ncols=True,
            desc="generate",
            bar_format=BAR_FORMAT,
        )

    def record(self, status: str, reason: str | None) -> None:
        self.done[(status, reason)] += 1
        self._bar.update(1)

    def counts(self) -> RunCounts:
        """The run's counts now: live while it runs, the final ones once finalized."""
        if self.final is not None:
            return self.final
        usage = self.counters.usage()
        return tally(self.done, {k: v + self.earlier_usage.get(k, 0) for k, v in usage.items()})

    def snapshot(self, state: str) -> dict[str, Any]:
        counts = self.counts()
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = (counts.generated - self._start_done) / elapsed
        remaining = max(self.total - counts.generated, 0)
        c = self.counters
        return {
            "state": state,
            # Who writes this file: a "running" state whose process is gone was killed.
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "total": self.total,
            "counts": counts.to_json(),
            "requests_in_flight": c.in_flight,
            "retries": c.transport_retries + c.length_retries + c.feedback_retries,
            "transport_retries": c.transport_retries,
            "length_retries": c.length_retries,
            "feedback_retries": c.feedback_retries,
            "cost_usd": self._cost(counts, rate, remaining),
            "items_per_s": round(rate, 2),
            "requests_per_s": round(c.calls / elapsed, 2),
            "tokens_per_s": round((c.prompt_tokens + c.completion_tokens) / elapsed, 1),
            "eta_s": round(remaining / rate, 1) if rate > 0 else None,
            "elapsed_s": round(elapsed, 1),
            "updated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }

    def _cost(self, counts: RunCounts, rate: float, remaining: int) -> dict[str, float] | None:
        """Spent so far (every session) and projected for the whole run, at this session's
        cost per item for the items still to do."""
        spent = counts.cost_usd(*self.prices)
        if spent is None:
            return None
        session = RunCounts(**self.counters.usage()).cost_usd(*self.prices) or 0.0
        items = counts.generated - self._start_done
        per_item = session / items if items and rate > 0 else 0.0
        return {"spent": round(spent, 6), "projected": round(spent + per_item * remaining, 6)}

    def _describe(self) -> str:
        snap = self.snapshot("running")
        counts = snap["counts"]
        words = [
            f"accepted {counts['accepted_before_dedup']:,}",
            f"rejected {counts['rejected_total']:,}",
            f"quarantined {counts['quarantined_total']:,}",
            f"requests in flight {snap['requests_in_flight']}",
            f"retries {snap['retries']:,}",
            f"tokens/s {snap['tokens_per_s']:,.0f}",
        ]
        cost = snap["cost_usd"]
        if cost is not None:
            words.append(f"cost {usd(cost['spent'])} of ~{usd(cost['projected'])}")
        eta = snap["eta_s"]
        words.append("ETA " + (tqdm.format_interval(eta) if eta is not None else "?"))
        return ", ".join(words)

    def refresh(self, state: str = "running") -> None:
        snap = self.snapshot(state)
        write_text_atomic(self.path, json.dumps(snap, indent=2) + "\n")
        self._bar.refresh()

    def close(self, state: str) -> None:
        self.refresh(state)
        self._bar.close()

    def finish(self, counts: RunCounts) -> None:
        """The run is finalized: ``_progress.json`` says "done" with its final counts."""
        self.final = counts
        self.refresh("done")
