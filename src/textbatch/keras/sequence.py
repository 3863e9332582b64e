"""``BatchSequence``: a textbatch ``BatchStream`` as a ``keras.utils.PyDataset``.

Why a PyDataset and not a generator: Keras 3 removed ``fit_generator`` and gives the
exactly-once-per-epoch promise only to ``PyDataset``, whose ``__getitem__(index)`` Keras may call
from several threads or processes, in any order (``fit(shuffle=True)``, the default, permutes the
indices). ``BatchStream.batch(epoch, step)`` is a pure function of its arguments, so every worker
computes the same batch for the same index without talking to the others.

How the epoch reaches the workers: ``self.epoch`` lives in the object and only moves in
``on_epoch_end``, which Keras calls in the main process after it has stopped that epoch's worker
pool. Keras 3 builds a fresh pool (fork, or pickling under spawn) when the next epoch starts, so the
new workers see the new epoch. Each epoch therefore reads a new permutation, and every index of
that epoch resolves against the same one. (``fit`` also calls ``on_epoch_end`` once after building
the model, so its first epoch usually reads stream epoch 1; set ``epoch`` to pin it.)

A Keras bug this module works around: when ``fit`` first builds the model it reads one batch from
the worker pool and then stops it; ``OrderedEnqueuer.stop`` keeps the batches already prefetched
in its ``ready_queue`` "for the next run", and the next epoch serves them *before* its own, so
every epoch would get ~``max_queue_size`` batches of the previous epoch and miss as many of its own
(seen with Keras 3.15, workers=2 + use_multiprocessing: 150 of 200 records per epoch). Those
leftovers can only be stale, so ``on_epoch_end`` drops them (see ``_drop_prefetched``).
"""

from __future__ import annotations

import queue
import sys
from typing import Any, Literal, Protocol

import numpy as np

from textbatch.features.batch import SparseBatch
from textbatch.keras import require_keras

keras = require_keras()

Output = Literal["dense", "ids_weights", "tokens"]
OUTPUTS: tuple[str, ...] = ("dense", "ids_weights", "tokens")


class RandomAccessStream(Protocol):
    """What ``BatchSequence`` needs of a ``textbatch.data.BatchStream`` whose transform makes a
    labelled ``SparseBatch``."""

    steps_per_epoch: int
    num_records: int

    def batch(self, epoch: int, step: int) -> SparseBatch: ...


def dense_rows(batch: SparseBatch, num_features: int) -> np.ndarray:
    """The batch as a float32 [n, num_features] matrix (what the guide's Keras MLP eats).

    Only one batch is ever dense (128 x 20,000 x 4 bytes = 10 MB), never the data set.
    """
    n = len(batch)
    out = np.zeros((n, num_features), dtype=np.float32)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(batch.offsets))
    np.add.at(out, (rows, np.asarray(batch.ids, np.int64)), batch.weights)
    return out


def ids_weights(batch: SparseBatch) -> dict[str, np.ndarray]:
    """``{"ids": int32 [n, L], "weights": float32 [n, L]}``, L = the batch's longest row; padding
    has weight 0, so ``sum(weights * Embedding(ids))`` equals the dense product."""
    n = len(batch)
    lengths = np.diff(batch.offsets)
    width = max(int(lengths.max(initial=0)), 1)
    ids = np.zeros((n, width), dtype=np.int32)
    weights = np.zeros((n, width), dtype=np.float32)
    rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
    cols = np.arange(len(batch.ids), dtype=np.int64) - np.repeat(batch.offsets[:-1], lengths)
    ids[rows, cols] = batch.ids
    weights[rows, cols] = batch.weights
    return {"ids": ids, "weights": weights}


def to_keras_inputs(
    batch: SparseBatch,
    output: Output,
    *,
    num_features: int | None = None,
    sequence_length: int | None = None,
    padding: str = "pre",
) -> Any:
    """Model inputs for one ``SparseBatch`` in the ``output`` layout (see ``BatchSequence``)."""
    if output == "dense":
        return dense_rows(batch, int(num_features))  # type: ignore[arg-type]
    if output == "ids_weights":
        return ids_weights(batch)
    if output == "tokens":
        length = int(sequence_length)  # type: ignore[arg-type]
        return batch.padded(length, padding).astype(np.int32)
    raise ValueError(f"Unknown output {output!r}. Known: {list(OUTPUTS)}.")


def _drop_prefetched(adapter: Any) -> int:
    """Empty the Keras enqueuer's ``ready_queue`` of batches prefetched for an epoch that ended.

    ``adapter`` is whoever called ``on_epoch_end``: Keras's ``PyDatasetAdapter``, which has
    just run ``enqueuer.stop()``. Anything else (a manual call, another Keras layout) has no
    enqueuer and is left alone. Returns how many batches were dropped.
    """
    ready = getattr(getattr(adapter, "enqueuer", None), "ready_queue", None)
    dropped = 0
    while isinstance(ready, queue.Queue):
        try:
            ready.get_nowait()
        except queue.Empty:
            break
        dropped += 1
    return dropped


class BatchSequence(keras.utils.PyDataset):
    """Batches of a textbatch stream for ``model.fit``; ``len()`` is ``ceil(n / batch_size)``.

    Args:
        stream: a ``BatchStream`` whose ``batch(epoch, step)`` is a labelled ``SparseBatch``
            (its transform vectorizes text, or gathers cache rows).
        output: ``"dense"`` float32 [n, num_features] tf-idf rows (the guide's MLP),
            ``"ids_weights"`` padded n-gram ids + weights (an Embedding-bag model), or
            ``"tokens"`` int32 [n, sequence_length] token ids (the guide's sepCNN).
        num_features: width of ``"dense"`` rows (the vectorizer's ``num_features``).
        sequence_length, padding: for ``"tokens"``, as Keras ``pad_sequences``.
        epoch: the stream epoch the first ``fit`` epoch reads; moves on in ``on_epoch_end``.
        workers, use_multiprocessing, max_queue_size: Keras's ``PyDataset`` arguments.

    Labels come out int32: Keras's binary and sparse categorical losses both take class ids.
    """

    def __init__(
        self,
        stream: RandomAccessStream,
        output: Output = "dense",
        *,
        num_features: int | None = None,
        sequence_length: int | None = None,
        padding: str = "pre",
        epoch: int = 0,
        **pydataset_kwargs: Any,
    ) -> None:
        super().__init__(**pydataset_kwargs)
        if output not in OUTPUTS:
            raise ValueError(f"Unknown output {output!r}. Known: {list(OUTPUTS)}.")
        if output == "dense" and not num_features:
            raise ValueError("output='dense' needs num_features (the vectorizer's "
                             f"num_features). Received: num_features={num_features}.")
        if output == "tokens" and not sequence_length:
            raise ValueError("output='tokens' needs sequence_length (max_sequence_length). "
                             f"Received: sequence_length={sequence_length}.")
        self.stream, self.output, self.epoch = stream, output, int(epoch)
        self.num_features, self.sequence_length = num_features, sequence_length
        self.padding = padding

    @property
    def num_records(self) -> int:
        return int(self.stream.num_records)

    def __len__(self) -> int:
        return int(self.stream.steps_per_epoch)

    def __getitem__(self, index: int) -> tuple[Any, np.ndarray]:
        if not 0 <= index < len(self):  # Keras's iteration protocol ends on IndexError
            raise IndexError(f"batch index {index} out of range [0, {len(self)}).")
        batch = self.sparse_batch(index)
        if batch.labels is None:
            raise ValueError("The stream's batches have no labels; training needs a labelled "
                             "stream (a TextSource with labels, or a cache written with them).")
        inputs = to_keras_inputs(batch, self.output, num_features=self.num_features,
                                 sequence_length=self.sequence_length, padding=self.padding)
        return inputs, np.asarray(batch.labels, dtype=np.int32)

    def sparse_batch(self, index: int) -> SparseBatch:
        """The ``SparseBatch`` behind ``self[index]`` in the current epoch."""
        return self.stream.batch(self.epoch, int(index))

    def on_epoch_end(self) -> None:
        """Next epoch, next permutation; and drop batches Keras prefetched for the old one."""
        _drop_prefetched(sys._getframe(1).f_locals.get("self"))
        self.epoch += 1
