"""``BlockSource`` views: a part of another source, read through it (data/ owns position).

``FirstRecords`` keeps the first N records (``--limit N``, quick runs); ``RankBlocks`` keeps one
rank's contiguous share of the blocks (a distributed vectorizer fit, each rank on its part).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from textbatch.data.source import BlockSource
from textbatch.errors import ConfigError


class FirstRecords:
    """A ``BlockSource`` view of the first ``limit`` records of another (``--limit N``): whole
    blocks, then the head of the block where the limit falls."""

    def __init__(self, source: BlockSource, limit: int) -> None:
        if limit < 1:
            raise ConfigError(f"limit must be >= 1. Got {limit}.")
        sizes = np.asarray(source.block_sizes, dtype=np.int64)
        before = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.source = source
        self._sizes = np.clip(limit - before, 0, sizes)

    @property
    def block_sizes(self) -> np.ndarray:
        return self._sizes

    def read_block(self, index: int) -> Sequence:
        size = int(self._sizes[index])
        return self.source.read_block(index)[:size] if size else []


class RankBlocks:
    """A BlockSource view holding rank ``rank``'s contiguous share of ``source``'s blocks
    (contiguous so a compressed shard is read forward, once)."""

    def __init__(self, source: BlockSource, rank: int, world_size: int) -> None:
        sizes = np.asarray(source.block_sizes, dtype=np.int64)
        bounds = np.linspace(0, len(sizes), world_size + 1).round().astype(int)
        self.source, self.first = source, int(bounds[rank])
        self._sizes = sizes[bounds[rank]: bounds[rank + 1]]

    @property
    def block_sizes(self) -> np.ndarray:
        return self._sizes

    def read_block(self, index: int) -> Sequence:
        return self.source.read_block(self.first + index)
