"""``chunked(items, size)``: lists of ``size`` items in order, the last one shorter.

The one chunking loop of the package (``itertools.batched`` arrives only in Python 3.12, and
yields tuples). It holds one chunk at a time, so streams stay in constant memory.
"""

from __future__ import annotations

from itertools import islice
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items of ``items`` (the last may be shorter; never empty)."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1. Got {size}.")
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
