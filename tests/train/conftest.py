"""A learnable synthetic stream: feature 0 or 1 in every record names its class."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pytest

from textbatch.features.batch import SparseBatch


def separable_batches(seed: int, batch_size: int = 32, noise: float = 0.0) -> Iterator[SparseBatch]:
    rng = np.random.default_rng(seed)
    while True:
        labels = rng.integers(0, 2, batch_size)
        flips = rng.random(batch_size) < noise
        lengths = rng.integers(2, 6, batch_size)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        ids = rng.integers(2, 30, offsets[-1])
        ids[offsets[:-1]] = np.where(flips, 1 - labels, labels)
        yield SparseBatch(ids, np.ones(offsets[-1], np.float32), offsets, labels)


@pytest.fixture
def stream():
    return separable_batches
