"""Streaming in bounded batches: how rows, work items and Ray units are cut."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of at most ``size`` items, drawn lazily (``itertools.batched`` is 3.12+)."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch
