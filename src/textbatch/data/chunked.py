"""``chunked(items, size)``: lists of ``size`` items in order, the last one shorter; and
``record_chunks``, the chunks every vectorizer pass reads.

The one chunking loop of the package (``itertools.batched`` arrives only in Python 3.12, and
yields tuples). It holds one chunk at a time, so streams stay in constant memory.
"""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, TypeVar

if TYPE_CHECKING:
    import numpy as np

    from textbatch.data.labels import LabelSet
    from textbatch.data.source import BlockSource

T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items of ``items`` (the last may be shorter; never empty)."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1. Got {size}.")
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def record_chunks(source: BlockSource, labels: LabelSet, chunk_size: int = 4096
                  ) -> Callable[[], Iterator[tuple[list[str], np.ndarray]]]:
    """``open_chunks`` for a vectorizer's ``fit``: ``(texts, label ids)`` of a BlockSource of
    Records in source order (blocks one after another, so a gzip shard is read linearly), a
    fresh iterator per call (one call per pass the vectorizer makes)."""
    def open_chunks() -> Iterator[tuple[list[str], np.ndarray]]:
        records = (record for block in range(len(source.block_sizes))
                   for record in source.read_block(block))
        for chunk in chunked(records, chunk_size):
            yield [record.text for record in chunk], labels.encode(chunk)
    return open_chunks
