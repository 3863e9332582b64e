"""Batches of items from a BlockSource: exact epochs, any number of workers and ranks, O(1) resume.

``BatchStream`` turns an ``EpochPlan`` (``textbatch.data.plan``) into batches. Its position is two
counters, ``{"epoch", "step"}`` (a *global* step: every rank is at the same one), and every batch is
a pure function of (seed, epoch, step, rank, world_size) — so a resumed, re-sharded or randomly
accessed stream yields the same records as an uninterrupted one. Resuming loads the one window
that holds the step (a seek), never replays consumed records.

DataLoader worker ``w`` of ``W`` yields the steps ``t`` (counted from where iteration started) with
``t % W == w``; torch collects worker outputs round-robin, so the batch order is the same for 0, 1
or 2 workers. ``BatchLoader`` wraps the DataLoader and counts what the consumer received, which is
the position to checkpoint (worker prefetch is not consumption).

Owns: batch order, worker/rank sharding, epochs, the stream position. Leaves to others: where
records live (a BlockSource), what a batch becomes (``transform``, e.g. a vectorizer, run inside
the worker).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from textbatch.data.plan import (EpochPlan, advance, length_buckets, make_plan, rank_slice,
                                 steps_per_epoch)
from textbatch.data.source import BlockSource
from textbatch.errors import CheckpointError, ConfigError, DataError, TextbatchError

Transform = Callable[[Sequence], Any]


def _concat(parts: list[Sequence]) -> Sequence:
    """Concatenate item sequences: arrays stay arrays (cache row ids), anything else a list."""
    if parts and all(isinstance(p, np.ndarray) for p in parts):
        return np.concatenate(parts)
    return [item for part in parts for item in part]


def _take(items: Sequence, order: np.ndarray | None) -> Sequence:
    if order is None:
        return items
    if isinstance(items, np.ndarray):
        return items[order]
    return [items[i] for i in order]


def load_window(source: BlockSource, plan: EpochPlan, window: int,
                bucket_group: int = 0) -> Sequence:
    """The window's items in plan order (its blocks read, concatenated and permuted).

    Blocks are read in index (file) order, so neighbouring blocks are one continued read for
    sources that support it (``TextSource``), then arranged in plan order. With
    ``bucket_group`` (a shuffled plan and a source with ``item_lengths``, e.g. a sequence cache)
    the window is then grouped by record length (``plan.length_buckets``).
    """
    blocks = plan.blocks_of(window)
    lengths = plan.block_lengths[plan.window_blocks[window]: plan.window_blocks[window + 1]]
    parts: dict[int, Sequence] = {}
    for block, expected in sorted(zip(blocks.tolist(), lengths.tolist())):
        part = source.read_block(block)
        if len(part) != expected:
            raise DataError(
                f"block {block}", None,
                f"expected {expected} records, read {len(part)}: the data changed after "
                "its manifest was built", hint="Rebuild the manifest (delete its cache entry).")
        parts[block] = part
    items = _take(_concat([parts[b] for b in blocks.tolist()]), plan.window_permutation(window))
    if bucket_group and plan.shuffle:
        order = length_buckets(source.item_lengths(items), seed=plan.seed, epoch=plan.epoch,
                               window=window, start=int(plan.window_starts[window]),
                               group=bucket_group)
        items = _take(items, order)
    return items


class BatchStream(IterableDataset):
    """Endless (or ``epochs``-long) stream of batches of ``batch_size`` items for one rank.

    Args:
        source: the data, in blocks.
        batch_size: items per batch and rank; only an epoch's last batch is smaller.
        shuffle: reshuffle every epoch (blocks, then records within windows); False = file order.
        seed: with the epoch, the only input of the order.
        shuffle_buffer: about how many records are permuted together (and held in memory).
        rank, world_size: this process's slice of every global step (DDP).
        transform: ``items -> batch``, run where the batch is made (inside DataLoader workers);
            it must accept an empty sequence (the last step of a rank may be empty).
        epochs: stop after this many epochs (counted from 0); None = endless.
        bucket_by_length: with ``shuffle``, put records of similar length in the same batch
            (the source must have ``item_lengths(items)``); for sequence models, whose batches
            are padded to their own longest record.
    """

    def __init__(
        self,
        source: BlockSource,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        shuffle_buffer: int = 16_384,
        rank: int = 0,
        world_size: int = 1,
        transform: Transform | None = None,
        epochs: int | None = None,
        bucket_by_length: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1. Got {batch_size}.")
        if seed < 0 or shuffle_buffer < 1:
            raise ConfigError(f"seed must be >= 0 and shuffle_buffer >= 1. "
                              f"Got seed={seed}, shuffle_buffer={shuffle_buffer}.")
        if not 0 <= rank < world_size:
            raise ConfigError(f"rank must be in [0, world_size={world_size}). Got {rank}.")
        if bucket_by_length and not hasattr(source, "item_lengths"):
            raise ConfigError(f"bucket_by_length needs a source with item_lengths(); "
                              f"{type(source).__name__} has none.")
        if epochs is not None and epochs < 0:
            raise ConfigError(f"epochs must be >= 0 or None. Got {epochs}.")
        self.source, self.batch_size, self.shuffle, self.seed = source, batch_size, shuffle, seed
        self.shuffle_buffer, self.rank, self.world_size = shuffle_buffer, rank, world_size
        self.transform, self.epochs = transform, epochs
        self.bucket_group = batch_size * world_size if bucket_by_length and shuffle else 0
        self.num_records = int(np.asarray(source.block_sizes, dtype=np.int64).sum())
        self.steps_per_epoch = steps_per_epoch(self.num_records, batch_size, world_size)
        self._epoch, self._step = 0, 0
        self._plan: EpochPlan | None = None
        self._window: tuple[int, int, Sequence] | None = None  # (epoch, window, items)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_plan"], state["_window"] = None, None  # workers rebuild; never ship a window
        return state

    # -- random access ---------------------------------------------------------------------
    def plan(self, epoch: int) -> EpochPlan:
        """The epoch's plan (the last one is kept: it is a few per-block arrays)."""
        if self._plan is None or self._plan.epoch != epoch:
            self._plan = make_plan(self.source.block_sizes, seed=self.seed, epoch=epoch,
                                   shuffle=self.shuffle, shuffle_buffer=self.shuffle_buffer)
        return self._plan

    def _window_items(self, plan: EpochPlan, window: int) -> Sequence:
        if self._window is None or self._window[:2] != (plan.epoch, window):
            self._window = None  # free the old window before reading the new one
            items = load_window(self.source, plan, window, self.bucket_group)
            self._window = (plan.epoch, window, items)
        return self._window[2]

    def batch_items(self, epoch: int, step: int) -> Sequence:
        """This rank's items at global ``step`` of ``epoch``, before ``transform``."""
        if not 0 <= step < self.steps_per_epoch:
            raise ConfigError(f"step must be in [0, {self.steps_per_epoch}). Got {step}.")
        plan = self.plan(epoch)
        start, stop = rank_slice(plan.num_records, step, self.batch_size, self.rank,
                                 self.world_size)
        if start == stop:  # an empty slice of the last step, typed like the items
            return self._window_items(plan, plan.num_windows - 1)[:0]
        parts = []
        while start < stop:
            window = plan.window_of(start)
            first, end = plan.window_starts[window], plan.window_starts[window + 1]
            items = self._window_items(plan, window)
            parts.append(items[start - first : min(stop, end) - first])
            start = min(stop, int(end))
        return parts[0] if len(parts) == 1 else _concat(parts)

    def batch(self, epoch: int, step: int) -> Any:
        """The transformed batch at (epoch, step): random access for Keras ``PyDataset``."""
        items = self.batch_items(epoch, step)
        return self.transform(items) if self.transform is not None else items

    # -- iteration and position ------------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        worker, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        epoch, step = self._epoch, self._step
        t = 0
        while self.steps_per_epoch and (self.epochs is None or epoch < self.epochs):
            following = advance(epoch, step, self.steps_per_epoch)
            if t % num_workers == worker:
                try:
                    out = self.batch(epoch, step)
                except TextbatchError as error:
                    if info is None:
                        raise
                    yield _Raised(error)  # torch would turn it into a RuntimeError
                    return
                self._epoch, self._step = following  # the consumer holds this batch now
                yield out
            epoch, step = following
            t += 1

    def state_dict(self) -> dict[str, int]:
        """Position of the next batch this process would yield."""
        return {"epoch": self._epoch, "step": self._step}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue at ``state`` (from ``state_dict``); the next batch is that step's."""
        try:
            epoch, step = int(state["epoch"]), int(state["step"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(
                f"Stream position must be {{'epoch', 'step'}}. Got {state!r}.") from exc
        if epoch < 0 or step < 0 or (self.steps_per_epoch and step > self.steps_per_epoch):
            raise CheckpointError(
                f"Stream position {state} does not fit this data ({self.steps_per_epoch} steps "
                "per epoch): was it saved with other data, batch_size or world_size?")
        self._epoch, self._step = advance(epoch, step, self.steps_per_epoch, 0)


class _Raised:
    """A TextbatchError made in a DataLoader worker, carried to the main process intact (torch
    re-creates worker exceptions from their message alone, which loses DataError's fields and
    turns it into a RuntimeError the CLI would print as a bug)."""

    def __init__(self, error: TextbatchError) -> None:
        self.error = error


def _identity(batch: Any) -> Any:
    """DataLoader collate that hands batches through untouched (the transform made them)."""
    return batch


class BatchLoader:
    """A DataLoader over a BatchStream whose position is what the consumer actually received.

    Each ``iter()`` starts the workers at the current position; leaving a loop early and iterating
    again continues after the last batch received (prefetched batches are re-made, not lost).
    """

    def __init__(self, stream: BatchStream, num_workers: int = 0, *, prefetch_factor: int = 2,
                 pin_memory: bool = False) -> None:
        if num_workers < 0:
            raise ConfigError(f"num_workers must be >= 0. Got {num_workers}.")
        self.stream, self.num_workers = stream, num_workers
        self.prefetch_factor, self.pin_memory = prefetch_factor, pin_memory
        self._position = stream.state_dict()

    @property
    def steps_per_epoch(self) -> int:
        return self.stream.steps_per_epoch

    def __iter__(self) -> Iterator[Any]:
        self.stream.load_state_dict(self._position)
        extra = {"prefetch_factor": self.prefetch_factor} if self.num_workers else {}
        # Its own generator: DataLoader draws a worker base seed on every iter(), which would
        # otherwise advance the global torch RNG that dropout uses and break exact resume.
        loader = DataLoader(self.stream, batch_size=None, num_workers=self.num_workers,
                            collate_fn=_identity, persistent_workers=False,
                            pin_memory=self.pin_memory, generator=torch.Generator(), **extra)
        epoch, step = self._position["epoch"], self._position["step"]
        for batch in loader:
            if isinstance(batch, _Raised):
                raise batch.error
            epoch, step = advance(epoch, step, self.stream.steps_per_epoch)
            self._position = {"epoch": epoch, "step": step}
            yield batch

    def state_dict(self) -> dict[str, int]:
        return dict(self._position)

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.stream.load_state_dict(state)  # validates
        self._position = self.stream.state_dict()
