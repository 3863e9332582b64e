"""The training step of the pipeline: cached streams in, a trained ``Trainer`` out."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from textbatch.config import RunConfig

if TYPE_CHECKING:
    import numpy as np
    import torch

    from textbatch.data.stream import BatchLoader
    from textbatch.pipeline.resume import RunCheckpoints
    from textbatch.train import Callback, EarlyStopping, Trainer
    from textbatch.train.collectives import DistContext

VAL_BATCH = 2_048  # validation has no gradients: bigger batches are simply faster


def fit_model(config: RunConfig, caches: dict[str, Path], out: Path, verbose: int,
              checkpoints: RunCheckpoints | None = None, embedding: np.ndarray | None = None,
              fine_tune_checkpoints: RunCheckpoints | None = None,
              output_bias: np.ndarray | None = None, callbacks: Sequence[Callback] = ()
              ) -> tuple[Trainer, EarlyStopping]:
    """Build the model, stream the train/val caches, fit with EarlyStopping and the CSV log;
    with ``checkpoints`` (a RunCheckpoints) also checkpoint, resume and stop cleanly on signals.

    ``embedding`` (an array [num_features, embedding_dim], pretrained vectors) starts sepCNN's
    embedding and freezes it; with ``config.model.fine_tune_embeddings`` a second stage then
    trains everything from the first stage's best weights, with a fresh Adam and its own early
    stopping, checkpointed by ``fine_tune_checkpoints`` (the guide's two stages).
    ``output_bias`` starts the output logits there (multi-label: each label's log-odds);
    ``callbacks`` run before the others (tune's pruning and NaN watch)."""
    from textbatch.models import build_model
    from textbatch.models.registry import set_output_bias

    model = build_model(config.model)
    if output_bias is not None:
        set_output_bias(model, output_bias)
    if embedding is None:
        return _fit_stage(model, config, caches, out / "history.csv", verbose, checkpoints,
                          callbacks)
    import torch

    with torch.no_grad():
        model.embedding.weight.copy_(torch.from_numpy(embedding))
    model.embedding.weight.requires_grad_(False)
    if not config.model.fine_tune_embeddings:
        return _fit_stage(model, config, caches, out / "history.csv", verbose, checkpoints,
                          callbacks)
    done = None if fine_tune_checkpoints is None else (
        fine_tune_checkpoints.store.directory / FROZEN_STAGE)
    if done is not None and done.is_file():  # a resumed run: stage 1 finished before
        model.load_state_dict(_read_weights(done))
    else:
        _fit_stage(model, config, caches, out / "history.csv", verbose, checkpoints, callbacks)
        if done is not None and fine_tune_checkpoints.writer:
            _write_weights(done, model.state_dict())
    model.embedding.weight.requires_grad_(True)
    if verbose:
        print("fine-tuning: embedding trainable, from the frozen stage's best weights")
    return _fit_stage(model, config, caches, out / "history_fine_tune.csv", verbose,
                      fine_tune_checkpoints, callbacks)


FROZEN_STAGE = "frozen_stage.safetensors"  # the first stage's best weights, once it finished


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))


def _write_weights(path: Path, state: dict[str, torch.Tensor]) -> None:
    from safetensors.torch import save

    from textbatch.io import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as handle:
        handle.write(save({k: v.detach().cpu().contiguous() for k, v in state.items()}))


def _fit_stage(model: torch.nn.Module, config: RunConfig, caches: dict[str, Path],
               history: Path, verbose: int, checkpoints: RunCheckpoints | None,
               callbacks: Sequence[Callback] = ()) -> tuple[Trainer, EarlyStopping]:
    """One Trainer.fit of ``model`` (its trainable parameters) with early stopping on val_loss."""
    from textbatch.models import input_kind
    from textbatch.train import CSVLogger, EarlyStopping, Trainer
    from textbatch.train.collectives import current
    from textbatch.train.distributed import DistributedTrainer
    from textbatch.train.signals import GracefulInterrupt

    dist = current()
    sequence = input_kind(config.model.name) == "sequence"
    trainer = (DistributedTrainer if dist.is_distributed else Trainer)(
        model, config.model.num_classes,
        learning_rate=config.train.learning_rate, device=config.train.device,
        sequence_length=config.vectorize.max_sequence_length if sequence else None,
        padding=config.vectorize.padding, multilabel=config.model.multilabel,
        precision=config.train.precision)
    # Sequence batches are padded to their own longest record: group similar lengths (issue 11).
    train = _loader(caches["train"], config, config.stream.batch_size, shuffle=True, dist=dist,
                    bucket_by_length=sequence and config.stream.bucket_by_length)
    val = _loader(caches["val"], config, VAL_BATCH, shuffle=False, dist=dist)
    logger = [CSVLogger(history)] if dist.is_rank_zero else []  # rank 0 writes
    schedule = _schedule(config)
    stopper = EarlyStopping(monitor="val_loss", patience=config.train.patience,
                            restore_best_weights=True)
    # a signal is deferred only when there is a checkpoint to write; without one (tune's
    # trials) SIGINT/SIGTERM act at once, as a finished trial is already on disk
    deferred = GracefulInterrupt() if checkpoints is not None else contextlib.nullcontext()
    with deferred as interrupt:
        backup = [] if checkpoints is None else [checkpoints.callback(
            {"train": train, "val": val}, config.train.checkpoint_every, interrupt, verbose > 0,
            save_seconds=config.train.checkpoint_seconds)]
        trainer.fit(train, train.steps_per_epoch, validation_data=val,
                    validation_steps=val.steps_per_epoch, epochs=config.train.epochs,
                    callbacks=[stopper, *schedule, *callbacks, *logger, *backup],
                    verbose=verbose if dist.is_rank_zero else 0)
    return trainer, stopper


def _schedule(config: RunConfig) -> list[Callback]:
    """The learning-rate schedule's callback; none for a constant rate without warm-up, so such
    a run (the shared default) keeps its history columns and its step unchanged."""
    from textbatch.train.schedule import LearningRateScheduler

    train = config.train
    if train.lr_schedule == "constant" and not train.warmup_epochs:
        return []
    return [LearningRateScheduler(train.lr_schedule, train.learning_rate, train.warmup_epochs)]


def _loader(folder: Path, config: RunConfig, batch_size: int, shuffle: bool,
            dist: DistContext, bucket_by_length: bool = False) -> BatchLoader:
    """This rank's stream of ``batch_size``-record global steps (its share of each)."""
    from textbatch.data.stream import BatchLoader, BatchStream
    from textbatch.features.cache import CacheSource

    source = CacheSource(folder)
    stream = BatchStream(source, dist.local_batch(batch_size), shuffle=shuffle,
                         seed=config.stream.seed, shuffle_buffer=config.stream.shuffle_buffer,
                         rank=dist.rank, world_size=dist.world_size, transform=source.gather,
                         bucket_by_length=bucket_by_length)
    return BatchLoader(stream, config.stream.num_workers)
