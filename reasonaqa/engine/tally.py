"""``RunCounts`` from a run's durable state: the journal's records by status and reason, the
LLM usage of its sessions and, once it has run, finalize's duplicates and shipped rows.

The live progress and the finished run build their counts here, and only here.
"""

from __future__ import annotations

from collections.abc import Mapping

from reasonaqa.engine.counts import RunCounts
from reasonaqa.engine.finalize import FinalizeResult

StatusCounts = Mapping[tuple[str, str | None], int]


def tally(
    by_status: StatusCounts, usage: Mapping[str, int], final: FinalizeResult | None = None
) -> RunCounts:
    """The counts of records (status, reason) -> n, plus usage; after finalize when ``final``."""
    reasons: dict[str, dict[str, int]] = {"rejected": {}, "quarantined": {}}
    accepted = 0
    for (status, reason), n in by_status.items():
        if status == "accepted":
            accepted += n
        elif status in reasons and n:
            key = reason or "unknown"
            reasons[status][key] = reasons[status].get(key, 0) + n
    return RunCounts(
        accepted_before_dedup=accepted,
        duplicates_removed=final.duplicates_removed if final else None,
        rejected=reasons["rejected"],
        quarantined=reasons["quarantined"],
        shipped_by_split=dict(final.by_split) if final else {},
        **usage,
    )
