"""The contract between where records live and how batches are planned.

A ``BlockSource`` is a data set cut into blocks of consecutive records, each readable on its own
(a seek, not a replay): text shards through the manifest's offsets, or the vectorized cache
through its row index. The batch planner (``textbatch.data.stream``) only ever sees block sizes
and asks for blocks; it never sees a file.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np


class BlockSource(Protocol):
    """Random access to a data set in blocks.

    ``block_sizes[i]`` is the number of items ``read_block(i)`` returns (after the split filter
    and bad-record skips, so it is exact). Items are ``Record`` objects for text sources and cache
    row ids (np.int64) for the vectorized cache.
    """

    @property
    def block_sizes(self) -> np.ndarray: ...

    def read_block(self, index: int) -> Sequence: ...
