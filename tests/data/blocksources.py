"""A list-backed BlockSource: the planner's contract is BlockSource, so this is a real source."""

from __future__ import annotations

import numpy as np


class ListSource:
    """A BlockSource over integers: block ``i`` holds the next ``sizes[i]`` consecutive ints, so
    every item names its own file-order position. Counts block reads to check I/O is a seek."""

    def __init__(self, sizes: list[int]) -> None:
        self._sizes = np.asarray(sizes, dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(self._sizes)])
        self.reads: list[int] = []

    @property
    def block_sizes(self) -> np.ndarray:
        return self._sizes

    def read_block(self, index: int) -> list[int]:
        self.reads.append(index)
        return list(range(int(self._starts[index]), int(self._starts[index + 1])))
