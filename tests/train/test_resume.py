"""Resume = seek: a fit crashed at any step and restarted from its checkpoint ends bit-identical.

The data is a real vectorized cache (``write_cache`` + ``CacheSource``) streamed by
``BatchLoader``; the model has dropout, so the torch RNG must be restored too.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from textbatch.config import ModelConfig
from textbatch.data.stream import BatchLoader, BatchStream
from textbatch.errors import CheckpointError
from textbatch.features.batch import SparseBatch
from textbatch.features.cache import CacheSource, write_cache
from textbatch.models import build_model
from textbatch.train import Callback, CSVLogger, EarlyStopping, Trainer, seed_everything
from textbatch.train.backup import BackupAndRestore
from textbatch.train.checkpoint import CheckpointStore
from textbatch.train.signals import GracefulInterrupt, TrainingInterrupted

NUM_FEATURES, EPOCHS = 40, 3


def _batches(seed: int, n: int) -> list[SparseBatch]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    lengths = rng.integers(2, 6, n)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    ids = rng.integers(2, NUM_FEATURES, offsets[-1])
    ids[offsets[:-1]] = labels  # feature 0 or 1 names the class, with noise elsewhere
    return [SparseBatch(ids, rng.random(offsets[-1]).astype(np.float32), offsets, labels)]


@pytest.fixture(scope="module")
def caches(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("resume")
    return {name: write_cache(root / name, _batches(seed, n), {"name": name}, block_size=16)
            for name, seed, n in (("train", 0, 150), ("val", 1, 40))}


class Crash(Callback):
    """Simulates SIGKILL: dies right after global step ``at`` (before it can be checkpointed)."""

    def __init__(self, at: int):
        self.at = at

    def on_train_batch_end(self, batch, logs=None):
        if self.trainer.global_step == self.at:
            raise RuntimeError("killed")


def _fit(caches, out: Path, *, seed: int = 0, extra=(), interrupt=None, workers: int = 0,
         save_freq: int = 3, save_seconds: float = 0.0):
    seed_everything(seed)
    model = build_model(ModelConfig(num_features=NUM_FEATURES, num_classes=2, units=8))
    trainer = Trainer(model, 2, learning_rate=5e-2, device="cpu")
    seed_everything(7)  # the training RNG (dropout) of every run starts here
    loaders = {}
    for name, shuffle, size in (("train", True, 16), ("val", False, 32)):
        source = CacheSource(caches[name])
        stream = BatchStream(source, size, shuffle=shuffle, seed=5, shuffle_buffer=48,
                             transform=source.gather)
        loaders[name] = BatchLoader(stream, workers if name == "train" else 0)
    backup = BackupAndRestore(CheckpointStore(out / "checkpoints", keep=2), loaders,
                              save_freq=save_freq, interrupt=interrupt, resume_hint="hint",
                              verbose=False, save_seconds=save_seconds)
    stopper = EarlyStopping(patience=1)
    trainer.fit(loaders["train"], loaders["train"].steps_per_epoch, loaders["val"],
                loaders["val"].steps_per_epoch, epochs=EPOCHS,
                callbacks=[stopper, CSVLogger(out / "history.csv"), *extra, backup], verbose=0)
    return trainer


def _weights(trainer) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trainer.model.state_dict().items()}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def reference(caches, tmp_path_factory):
    trainer = _fit(caches, tmp_path_factory.mktemp("ref"))
    return _weights(trainer), trainer.history.history


@pytest.mark.parametrize("crash_at", [4, 10, 11, 20])  # 10 steps per epoch; 10: an epoch end
def test_crash_at_any_step_then_resume_is_bit_identical(caches, reference, tmp_path,
                                                        crash_at) -> None:
    with pytest.raises(RuntimeError, match="killed"):
        _fit(caches, tmp_path, extra=[Crash(crash_at)])
    resumed = _fit(caches, tmp_path, seed=123)  # other initial weights: the checkpoint wins
    weights, history = reference
    assert _same(_weights(resumed), weights)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert resumed.history.history[key] == history[key], key
    rows = list(csv.reader((tmp_path / "history.csv").open()))
    assert [int(r[0]) for r in rows[1:]] == list(range(len(history["loss"])))  # no duplicates


def test_resume_with_a_dataloader_worker_is_bit_identical(caches, reference, tmp_path) -> None:
    with pytest.raises(RuntimeError, match="killed"):
        _fit(caches, tmp_path, extra=[Crash(14)], workers=1)
    assert _same(_weights(_fit(caches, tmp_path, workers=1)), reference[0])


def test_interrupt_writes_a_checkpoint_after_the_step_and_raises(caches, reference,
                                                                  tmp_path) -> None:
    class Signal(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.trainer.global_step == 7:
                import os
                import signal

                os.kill(os.getpid(), signal.SIGTERM)  # a real signal, handled in this thread

    with GracefulInterrupt() as interrupt:
        with pytest.raises(TrainingInterrupted) as info:
            _fit(caches, tmp_path, extra=[Signal()], interrupt=interrupt)
    assert info.value.exit_code == 143 and "hint" in str(info.value)
    state = CheckpointStore(tmp_path / "checkpoints").read_state(Path(info.value.checkpoint))
    assert state["trainer"]["global_step"] == 7
    assert _same(_weights(_fit(caches, tmp_path)), reference[0])


def _serials_and_epoch(out: Path) -> tuple[int, int]:
    store = CheckpointStore(out / "checkpoints")
    latest = store.latest()
    assert latest is not None
    return int(latest.name.split("-")[1]), store.read_state(latest)["trainer"]["epoch"]


def test_epoch_end_checkpoints_wait_for_save_seconds_but_the_end_always_saves(
        caches, reference, tmp_path) -> None:
    """With an hour between epoch-end checkpoints, only the end of training writes one; a
    re-run of the finished run restores it and ends with the same weights."""
    trainer = _fit(caches, tmp_path, save_freq=0, save_seconds=3600)
    assert _same(_weights(trainer), reference[0])
    epochs_run = len(trainer.history.history["loss"])
    assert _serials_and_epoch(tmp_path) == (1, epochs_run)
    again = _fit(caches, tmp_path, seed=123, save_freq=0, save_seconds=3600)
    assert _same(_weights(again), reference[0])
    assert _serials_and_epoch(tmp_path) == (1, epochs_run)  # nothing left to train or write


def test_every_epoch_end_checkpoints_with_save_seconds_zero(caches, reference, tmp_path) -> None:
    trainer = _fit(caches, tmp_path, save_freq=0, save_seconds=0)
    epochs_run = len(trainer.history.history["loss"])
    assert _serials_and_epoch(tmp_path) == (epochs_run, epochs_run)


def test_a_signal_at_an_epoch_end_checkpoints_even_before_save_seconds(caches, reference,
                                                                       tmp_path) -> None:
    class SignalAtEpochEnd(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                import os
                import signal

                os.kill(os.getpid(), signal.SIGTERM)

    with GracefulInterrupt() as interrupt:
        with pytest.raises(TrainingInterrupted) as info:
            _fit(caches, tmp_path, extra=[SignalAtEpochEnd()], interrupt=interrupt, save_freq=0,
                 save_seconds=3600)
    state = CheckpointStore(tmp_path / "checkpoints").read_state(Path(info.value.checkpoint))
    assert (state["trainer"]["epoch"], state["trainer"]["step_in_epoch"]) == (1, 0)
    assert _same(_weights(_fit(caches, tmp_path, save_freq=0, save_seconds=3600)), reference[0])


def test_a_checkpoint_for_other_callbacks_is_refused(caches, tmp_path) -> None:
    with pytest.raises(RuntimeError):
        _fit(caches, tmp_path, extra=[Crash(4)])
    store = CheckpointStore(tmp_path / "checkpoints")
    state, tensors = store.load(store.latest())
    state["callbacks"].pop("EarlyStopping")
    with pytest.raises(CheckpointError, match="callbacks differ"):
        trainer = Trainer(build_model(ModelConfig(num_features=NUM_FEATURES, num_classes=2,
                                                  units=8)), 2, device="cpu")
        backup = BackupAndRestore(store, {}, verbose=False)
        trainer.callbacks = [EarlyStopping(), trainer.history, backup]
        for callback in trainer.callbacks:
            callback.set_trainer(trainer)
        backup.restore(state, tensors)


def _one_cycle() -> "LearningRateScheduler":
    from textbatch.train.schedule import LearningRateScheduler

    return LearningRateScheduler("one-cycle", 5e-2, warmup_epochs=0.5)


@pytest.mark.parametrize("crash_at", [4, 13])
def test_resume_continues_the_learning_rate_schedule(caches, reference, tmp_path,
                                                     crash_at) -> None:
    scheduled = _fit(caches, tmp_path / "whole", extra=[_one_cycle()])
    assert not _same(_weights(scheduled), reference[0])  # the schedule changed the steps
    with pytest.raises(RuntimeError, match="killed"):
        _fit(caches, tmp_path / "cut", extra=[_one_cycle(), Crash(crash_at)])
    resumed = _fit(caches, tmp_path / "cut", seed=123, extra=[_one_cycle()])
    assert _same(_weights(resumed), _weights(scheduled))
    for key in ("loss", "val_loss", "learning_rate"):
        assert resumed.history.history[key] == scheduled.history.history[key], key
