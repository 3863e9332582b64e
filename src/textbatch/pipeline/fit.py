"""The training step of the pipeline: cached streams in, a trained ``Trainer`` out."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from textbatch.config import RunConfig

if TYPE_CHECKING:
    import numpy as np

    from textbatch.data.stream import BatchLoader
    from textbatch.pipeline.resume import RunCheckpoints
    from textbatch.train import Callback, EarlyStopping, Trainer
    from textbatch.train.collectives import DistContext

VAL_BATCH = 2_048  # validation has no gradients: bigger batches are simply faster


def fit_model(config: RunConfig, caches: dict[str, Path], out: Path, verbose: int,
              checkpoints: RunCheckpoints | None = None,
              output_bias: np.ndarray | None = None, callbacks: Sequence[Callback] = ()
              ) -> tuple[Trainer, EarlyStopping]:
    """Build the model, stream the train/val caches, fit with EarlyStopping and the CSV log;
    with ``checkpoints`` (a RunCheckpoints) also checkpoint, resume and stop cleanly on signals.
    ``output_bias`` starts the output logits there (multi-label: each label's log-odds);
    ``callbacks`` run before the others (tune's pruning and NaN watch)."""
    from textbatch.train.signals import GracefulInterrupt
    from textbatch.models import build_model, input_kind
    from textbatch.models.registry import set_output_bias
    from textbatch.train import CSVLogger, EarlyStopping, Trainer
    from textbatch.train.collectives import current
    from textbatch.train.distributed import DistributedTrainer

    dist = current()
    sequence = input_kind(config.model.name) == "sequence"
    model = build_model(config.model)
    if output_bias is not None:
        set_output_bias(model, output_bias)
    trainer = (DistributedTrainer if dist.is_distributed else Trainer)(
        model, config.model.num_classes,
        learning_rate=config.train.learning_rate, device=config.train.device,
        sequence_length=config.vectorize.max_sequence_length if sequence else None,
        padding=config.vectorize.padding, multilabel=config.model.multilabel)
    train = _loader(caches["train"], config, config.stream.batch_size, shuffle=True, dist=dist)
    val = _loader(caches["val"], config, VAL_BATCH, shuffle=False, dist=dist)
    logger = [CSVLogger(out / "history.csv")] if dist.is_rank_zero else []  # rank 0 writes
    stopper = EarlyStopping(monitor="val_loss", patience=config.train.patience,
                            restore_best_weights=True)
    # a signal is deferred only when there is a checkpoint to write; without one (tune's
    # trials) SIGINT/SIGTERM act at once, as a finished trial is already on disk
    deferred = GracefulInterrupt() if checkpoints is not None else contextlib.nullcontext()
    with deferred as interrupt:
        backup = [] if checkpoints is None else [checkpoints.callback(
            {"train": train, "val": val}, config.train.checkpoint_every, interrupt, verbose > 0)]
        trainer.fit(train, train.steps_per_epoch, validation_data=val,
                    validation_steps=val.steps_per_epoch, epochs=config.train.epochs,
                    callbacks=[stopper, *callbacks, *logger, *backup],
                    verbose=verbose if dist.is_rank_zero else 0)
    return trainer, stopper


def _loader(folder: Path, config: RunConfig, batch_size: int, shuffle: bool,
            dist: DistContext) -> BatchLoader:
    """This rank's stream of ``batch_size``-record global steps (its share of each)."""
    from textbatch.data.stream import BatchLoader, BatchStream
    from textbatch.features.cache import CacheSource

    source = CacheSource(folder)
    stream = BatchStream(source, dist.local_batch(batch_size), shuffle=shuffle,
                         seed=config.stream.seed, shuffle_buffer=config.stream.shuffle_buffer,
                         rank=dist.rank, world_size=dist.world_size, transform=source.gather)
    return BatchLoader(stream, config.stream.num_workers)
