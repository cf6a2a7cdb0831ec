"""The numbers of a run, defined once: what the CLI summary, ``_progress.json``, ``_run.json``
and the dataset card all show.

Every item of a run ends accepted, rejected by a quality check, or quarantined; finalize then
removes duplicates among the accepted ones and ships the rest. So:

- ``generated`` = accepted before dedup + rejected + quarantined (items finished);
- ``shipped`` = accepted before dedup - duplicates removed (rows under ``data/``).

Duplicates are not rejections: they are counted once, as ``duplicates_removed``. LLM calls
and tokens add up over every session of the run (``engine.history``). Derived numbers are
properties, written to JSON for readers but never read back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from reasonaqa.errors import InputError

# The LLM usage a run adds up over its sessions, by the names ``_run.json`` uses.
USAGE_FIELDS = ("llm_calls", "cache_hits", "prompt_tokens", "completion_tokens")
TOKENS_PER_PRICE_UNIT = 1_000_000  # prices are USD per million tokens


@dataclass(frozen=True)
class RunCounts:
    """One run's (or a build's summed parts') counts; ``duplicates_removed`` is None until
    finalize has run, and so is ``shipped``."""

    accepted_before_dedup: int = 0
    duplicates_removed: int | None = None
    rejected: Mapping[str, int] = field(default_factory=dict)
    quarantined: Mapping[str, int] = field(default_factory=dict)
    shipped_by_split: Mapping[str, int] = field(default_factory=dict)
    llm_calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    @property
    def generated(self) -> int:
        return self.accepted_before_dedup + self.rejected_total + self.quarantined_total

    @property
    def shipped(self) -> int | None:
        if self.duplicates_removed is None:
            return None
        return self.accepted_before_dedup - self.duplicates_removed

    def cost_usd(self, price_input: float | None, price_output: float | None) -> float | None:
        """What the tokens cost at these prices (USD per million tokens); None without prices."""
        if price_input is None and price_output is None:
            return None
        spent = self.prompt_tokens * (price_input or 0.0)
        spent += self.completion_tokens * (price_output or 0.0)
        return spent / TOKENS_PER_PRICE_UNIT

    def __add__(self, other: RunCounts) -> RunCounts:
        """Two runs' counts together (a build sums its synthetic parts)."""
        dupes = None
        if self.duplicates_removed is not None and other.duplicates_removed is not None:
            dupes = self.duplicates_removed + other.duplicates_removed
        return RunCounts(
            accepted_before_dedup=self.accepted_before_dedup + other.accepted_before_dedup,
            duplicates_removed=dupes,
            rejected=_sum(self.rejected, other.rejected),
            quarantined=_sum(self.quarantined, other.quarantined),
            shipped_by_split=_sum(self.shipped_by_split, other.shipped_by_split),
            **{name: getattr(self, name) + getattr(other, name) for name in USAGE_FIELDS},
        )

    def to_json(self) -> dict[str, Any]:
        """The ``counts`` of ``_run.json`` and ``_progress.json``, derived numbers included."""
        return {
            "generated": self.generated,
            "accepted_before_dedup": self.accepted_before_dedup,
            "duplicates_removed": self.duplicates_removed,
            "shipped": self.shipped,
            "shipped_by_split": dict(sorted(self.shipped_by_split.items())),
            "rejected_total": self.rejected_total,
            "rejected": _by_count(self.rejected),
            "quarantined_total": self.quarantined_total,
            "quarantined": _by_count(self.quarantined),
            **{name: getattr(self, name) for name in USAGE_FIELDS},
        }

    @classmethod
    def from_json(cls, data: object, file: Path) -> RunCounts:
        """Read ``counts`` back from ``file``; a bad value is an ``InputError`` naming its field."""
        if not isinstance(data, dict):
            raise InputError("missing object", file=file, field="counts")
        if "accepted_before_dedup" not in data:  # the one count every run has
            raise InputError("missing count", file=file, field="counts.accepted_before_dedup")
        values: dict[str, Any] = {}
        for spec in fields(cls):
            if spec.name not in data:  # usage a run did not track keeps its zero default
                continue
            value = data[spec.name]
            where = f"counts.{spec.name}"
            if spec.name in ("rejected", "quarantined", "shipped_by_split"):
                values[spec.name] = _reason_counts(value, file, where)
            elif spec.name == "duplicates_removed" and value is None:
                values[spec.name] = None
            elif _is_count(value):
                values[spec.name] = value
            else:
                raise InputError("expected an integer", file=file, field=where)
        return cls(**values)

    def summary_lines(self, cost_usd: float | None = None) -> list[str]:
        """The counts in words, one line each (and the cost when known): the CLI summary of
        ``generate`` and ``build``."""
        shipped = "not yet" if self.shipped is None else f"{self.shipped:,}"
        dupes = "not yet" if self.duplicates_removed is None else f"{self.duplicates_removed:,}"
        by_split = ", ".join(f"{s} {n:,}" for s, n in sorted(self.shipped_by_split.items()))
        return [
            f"generated: {self.generated:,}",
            f"accepted before dedup: {self.accepted_before_dedup:,}",
            f"duplicates removed: {dupes}",
            f"shipped: {shipped}" + (f" ({by_split})" if by_split else ""),
            f"rejected: {self.rejected_total:,}" + _reasons_text(self.rejected),
            f"quarantined: {self.quarantined_total:,}" + _reasons_text(self.quarantined),
            f"LLM calls: {self.llm_calls:,} ({self.cache_hits:,} answered from the journal); "
            f"tokens: {self.prompt_tokens:,} prompt + {self.completion_tokens:,} completion",
            *([f"cost: {usd(cost_usd)}"] if cost_usd is not None else []),
        ]


def usd(amount: float) -> str:
    """Dollars to the cent; two significant digits below a cent (small trial runs)."""
    return f"${amount:,.2f}" if amount >= 0.01 or amount == 0 else f"${amount:.2g}"


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _reason_counts(value: object, file: Path, where: str) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError("expected an object of name: count", file=file, field=where)
    for reason, count in value.items():
        if not _is_count(count):
            raise InputError("expected an integer", file=file, field=f"{where}.{reason}")
    return dict(value)


def _sum(first: Mapping[str, int], second: Mapping[str, int]) -> dict[str, int]:
    total = Counter(first)
    total.update(second)
    return dict(total)


def _by_count(counts: Mapping[str, int]) -> dict[str, int]:
    """Largest first, then by name: the order every reader shows reasons in."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _reasons_text(counts: Mapping[str, int]) -> str:
    if not counts:
        return ""
    return "  (" + ", ".join(f"{reason} {n:,}" for reason, n in _by_count(counts).items()) + ")"
