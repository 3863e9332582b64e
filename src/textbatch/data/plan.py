"""The epoch plan: which record sits at which position of an epoch, as a pure function.

Everything here is arithmetic on per-block sizes (no I/O, no per-record arrays for the whole data
set), so any process can recompute any rank's batch for any (seed, epoch, step) on its own: that
is what makes worker sharding, distributed ranks, random access and O(1) resume agree.

An epoch's order is built in two levels (the bounded shuffle of huggingface/datasets and
mosaicml/streaming, made exact):

1. blocks (the manifest's seek units) are permuted with an RNG of (seed, epoch);
2. consecutive blocks of that order are grouped into *windows* of about ``shuffle_buffer``
   records (a block belongs to window ``k`` when its first position falls in
   ``[k * shuffle_buffer, (k + 1) * shuffle_buffer)``) and each window's records are permuted with
   an RNG of (seed, epoch, window index).

Loading a window is therefore the only O(window) memory. With ``shuffle=False`` the order is the
file order.

Optionally (sequence models, issue 11) a shuffled window is then *bucketed by length*
(``length_buckets``): its records are ordered by length band and cut into groups of one global
step, aligned to step boundaries, whose order is permuted with an RNG of (seed, epoch, window).
Each batch then holds records of similar length (little padding) while the order of batches
stays random; it is still a pure function of (seed, epoch) and the records' lengths, so every
rank and every resumed run computes the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from textbatch.errors import ConfigError


@dataclass(frozen=True)
class EpochPlan:
    """One epoch's order. ``block_order`` lists the non-empty blocks in epoch order;
    window ``w`` is ``block_order[window_blocks[w]:window_blocks[w + 1]]`` and covers plan
    positions ``[window_starts[w], window_starts[w + 1])``."""

    seed: int
    epoch: int
    shuffle: bool
    block_order: np.ndarray
    block_lengths: np.ndarray  # sizes of block_order's blocks, in the same order
    window_blocks: np.ndarray
    window_starts: np.ndarray

    @property
    def num_records(self) -> int:
        return int(self.window_starts[-1])

    @property
    def num_windows(self) -> int:
        return len(self.window_starts) - 1

    def window_of(self, position: int) -> int:
        """The window holding plan ``position`` (0 <= position < num_records)."""
        return int(np.searchsorted(self.window_starts, position, side="right") - 1)

    def blocks_of(self, window: int) -> np.ndarray:
        return self.block_order[self.window_blocks[window] : self.window_blocks[window + 1]]

    def window_permutation(self, window: int) -> np.ndarray | None:
        """Order of the window's records (concatenated in block order); None keeps it."""
        if not self.shuffle:
            return None
        size = int(self.window_starts[window + 1] - self.window_starts[window])
        return _rng(self.seed, self.epoch, window).permutation(size)


# Records whose lengths fall in the same band (floor(log_1.4(length + 1)): each band ~1.4x as
# wide as the one before) are interchangeable for padding and keep their shuffled order, so a
# batch is not a sorted run. Chosen on validation (issue 11, 3 seeds each; docs/BENCHMARKS.md
# round 5): SST-2 dev / SMS spam / IMDB means 0.7756 / 0.9695 / 0.9000 at 1.1, 0.7664 / 0.9719 /
# 0.9026 at 1.4, 0.7809 / 0.9750 / 0.8973 at 2.0 -- 1.4 and 2.0 tie weighted by validation
# records (0.8822 vs 0.8825), and 1.4 pads less: the 3M-row epoch 20.4 -> 14.8 minutes.
LENGTH_BAND_RATIO = 1.4


def length_buckets(lengths: np.ndarray, *, seed: int, epoch: int, window: int, start: int,
                   group: int) -> np.ndarray:
    """Order of a shuffled window's records (``lengths`` in their plan order) that puts records
    of one length band together in groups of ``group`` (= batch size x ranks) plan positions.

    Groups are aligned to multiples of ``group`` counted from plan position 0 (the window
    begins at ``start``), so each global step reads one group; the partial groups at the window's
    two ends stay in place and the whole groups between them are permuted.
    """
    bands = np.floor(np.log1p(np.asarray(lengths, np.float64)) / np.log(LENGTH_BAND_RATIO))
    order = np.argsort(bands, kind="stable")  # ties keep the window's shuffled order
    head = min((-start) % group, len(order))
    whole = (len(order) - head) // group
    if whole > 1:
        stop = head + whole * group
        groups = order[head:stop].reshape(whole, group)
        permuted = groups[_rng(seed, epoch, window, 1).permutation(whole)].ravel()
        order = np.concatenate([order[:head], permuted, order[stop:]])
    return order


def _rng(*entropy: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(e) for e in entropy]))


def make_plan(
    block_sizes: np.ndarray, *, seed: int, epoch: int, shuffle: bool, shuffle_buffer: int
) -> EpochPlan:
    """The plan of ``epoch``; a pure function of its arguments."""
    if seed < 0 or epoch < 0:
        raise ConfigError(f"seed and epoch must be >= 0. Got seed={seed}, epoch={epoch}.")
    if shuffle_buffer < 1:
        raise ConfigError(f"shuffle_buffer must be >= 1. Got {shuffle_buffer}.")
    sizes = np.asarray(block_sizes, dtype=np.int64)
    order = np.flatnonzero(sizes > 0)  # empty blocks (a split filtered them out) are never read
    if shuffle:
        order = order[_rng(seed, epoch).permutation(len(order))]
    lengths = sizes[order]
    ends = np.cumsum(lengths)
    window_ids = (ends - lengths) // shuffle_buffer
    first = np.flatnonzero(np.diff(window_ids, prepend=-1)) if len(order) else np.zeros(0, np.int64)
    window_blocks = np.append(first, len(order)).astype(np.int64)
    window_starts = np.append(ends[first] - lengths[first], ends[-1] if len(ends) else 0)
    return EpochPlan(seed, epoch, shuffle, order, lengths, window_blocks,
                     window_starts.astype(np.int64))


def steps_per_epoch(num_records: int, batch_size: int, world_size: int = 1) -> int:
    """``ceil(n / (world_size * batch_size))``: the same on every rank, so DDP never hangs."""
    return -(-num_records // (world_size * batch_size))


def rank_slice(
    num_records: int, step: int, batch_size: int, rank: int = 0, world_size: int = 1
) -> tuple[int, int]:
    """Plan positions ``[start, stop)`` of ``rank``'s batch at global ``step``.

    Step ``s`` covers positions ``[s*R*B, (s+1)*R*B)``; rank ``r`` takes the ``r``-th contiguous
    slice of ``B``. In the last step the remainder ``m`` is split as evenly as possible (the first
    ``m % R`` ranks take one more), so a slice may be empty when fewer records than ranks remain.
    """
    base = step * world_size * batch_size
    remaining = num_records - base
    if remaining >= world_size * batch_size:
        start = base + rank * batch_size
        return start, start + batch_size
    share, extra = divmod(max(remaining, 0), world_size)
    start = base + rank * share + min(rank, extra)
    return start, start + share + (1 if rank < extra else 0)


def advance(epoch: int, step: int, steps: int, count: int = 1) -> tuple[int, int]:
    """The (epoch, step) ``count`` steps after (epoch, step), with ``steps`` steps per epoch."""
    total = epoch * steps + step + count
    return divmod(total, steps) if steps else (epoch, step)
