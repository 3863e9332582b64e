"""Length bucketing of the epoch plan: similar lengths per batch, still exact and a pure function."""

from __future__ import annotations

import numpy as np
import pytest

from textbatch.data.stream import BatchStream
from textbatch.errors import ConfigError

from blocksources import ListSource


class LengthSource(ListSource):
    """Items are ints; item ``i`` has a length drawn once from a long-tailed distribution."""

    def __init__(self, sizes: list[int], seed: int = 3) -> None:
        super().__init__(sizes)
        self.lengths = np.random.default_rng(seed).integers(1, 500, int(sum(sizes)))

    def item_lengths(self, items) -> np.ndarray:
        return self.lengths[np.asarray(items, dtype=np.int64)]


def spread(source: LengthSource, batches: list[list[int]]) -> float:
    """Mean over batches of (longest - shortest) length: the padding bucketing avoids."""
    return float(np.mean([np.ptp(source.lengths[b]) for b in batches if len(b)]))


def batches(stream: BatchStream, epoch: int) -> list[list[int]]:
    return [list(stream.batch(epoch, s)) for s in range(stream.steps_per_epoch)]


@pytest.mark.parametrize("world_size", [1, 3])
def test_bucketed_epochs_see_every_record_once_with_similar_lengths_per_batch(world_size):
    sizes = [50] * 40  # 2,000 records in windows of ~500
    source = LengthSource(sizes)
    plain = [BatchStream(source, 16, seed=1, shuffle_buffer=500, rank=r, world_size=world_size)
             for r in range(world_size)]
    bucketed = [BatchStream(source, 16, seed=1, shuffle_buffer=500, rank=r,
                            world_size=world_size, bucket_by_length=True)
                for r in range(world_size)]
    for epoch in (0, 1):
        seen = [x for s in bucketed for b in batches(s, epoch) for x in b]
        assert sorted(seen) == list(range(sum(sizes)))
        plain_spread = spread(source, [b for s in plain for b in batches(s, epoch)])
        bucketed_spread = spread(source, [b for s in bucketed for b in batches(s, epoch)])
        assert bucketed_spread < plain_spread / 2  # bands of 2x: 2.7x less spread here


def test_bucketed_order_is_a_function_of_seed_and_epoch_and_changes_between_epochs():
    def order(seed: int, epoch: int) -> list[list[int]]:
        return batches(BatchStream(LengthSource([40] * 20), 8, seed=seed, shuffle_buffer=200,
                                   bucket_by_length=True), epoch)
    assert order(0, 0) == order(0, 0)
    assert order(0, 0) != order(0, 1)
    assert order(0, 0) != order(1, 0)
    # batches of the same length band come in a random order, not sorted shortest first
    source = LengthSource([40] * 20)
    longest = [int(source.lengths[b].max()) for b in order(0, 0)]
    assert longest != sorted(longest)


def test_bucketed_stream_resumes_mid_epoch_exactly():
    def stream() -> BatchStream:
        return BatchStream(LengthSource([30] * 10), 7, seed=5, shuffle_buffer=100,
                           bucket_by_length=True)
    whole = stream()
    expected = [list(b) for _, b in zip(range(60), iter(whole))]
    first = stream()
    head = [list(b) for _, b in zip(range(25), iter(first))]
    resumed = stream()
    resumed.load_state_dict(first.state_dict())
    tail = [list(b) for _, b in zip(range(35), iter(resumed))]
    assert head + tail == expected


def test_without_shuffle_bucketing_keeps_file_order_and_needs_lengths():
    source = LengthSource([10, 10])
    stream = BatchStream(source, 4, shuffle=False, bucket_by_length=True)
    assert [x for b in batches(stream, 0) for x in b] == list(range(20))
    with pytest.raises(ConfigError, match="item_lengths"):
        BatchStream(ListSource([10]), 4, bucket_by_length=True)
