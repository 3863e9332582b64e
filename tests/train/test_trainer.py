"""The fit loop: callback order, early stopping with best weights, CSV log, epoch line, seeds."""

from __future__ import annotations

import csv
import itertools
import re

import pytest
import torch

from textbatch.config import ModelConfig
from textbatch.models import build_model
from textbatch.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    ModelCheckpoint,
    ReduceLROnPlateau,
    Trainer,
    format_epoch_line,
    load_weights,
    seed_everything,
)


def make_trainer(seed: int = 0, lr: float = 1e-2) -> Trainer:
    seed_everything(seed)
    model = build_model(ModelConfig(num_features=30, num_classes=2, units=8))
    return Trainer(model, 2, learning_rate=lr, device="cpu")


class Recorder(Callback):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def on_train_begin(self, logs=None): self.calls.append("train_begin")
    def on_train_end(self, logs=None): self.calls.append("train_end")
    def on_epoch_begin(self, epoch, logs=None): self.calls.append(f"epoch_begin {epoch}")
    def on_epoch_end(self, epoch, logs=None): self.calls.append(f"epoch_end {epoch}")
    def on_train_batch_end(self, batch, logs=None): self.calls.append(f"batch {batch}")
    def on_test_begin(self, logs=None): self.calls.append("test_begin")
    def on_test_end(self, logs=None): self.calls.append("test_end")


def test_callbacks_are_called_in_keras_order(stream) -> None:
    recorder = Recorder()
    make_trainer().fit(stream(0), 2, stream(1), 1, epochs=2, callbacks=[recorder], verbose=0)
    assert recorder.calls == [
        "train_begin",
        "epoch_begin 0", "batch 0", "batch 1", "test_begin", "test_end", "epoch_end 0",
        "epoch_begin 1", "batch 0", "batch 1", "test_begin", "test_end", "epoch_end 1",
        "train_end",
    ]


def test_learns_a_separable_problem_and_history_has_every_epoch(stream) -> None:
    history = make_trainer().fit(stream(0), 20, stream(1), 4, epochs=3, verbose=0)
    assert history.epoch == [0, 1, 2]
    assert history.history["val_accuracy"][-1] > 0.95
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy",
                                     "records_per_second", "seconds"}


class ScriptedValLoss(Callback):
    """Overwrites val_loss with a script and snapshots the weights of every epoch."""

    def __init__(self, values: list[float]) -> None:
        self.values, self.snapshots = values, []

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]
        self.snapshots.append({k: v.clone() for k, v in self.trainer.model.state_dict().items()})


def test_early_stopping_stops_after_patience_and_restores_best_weights(stream) -> None:
    script = ScriptedValLoss([0.9, 0.5, 0.6, 0.7, 0.4, 0.3])
    stopper = EarlyStopping(patience=2)
    trainer = make_trainer()
    history = trainer.fit(stream(0), 3, stream(1), 1, epochs=6,
                          callbacks=[script, stopper], verbose=0)
    assert history.epoch == [0, 1, 2, 3]  # best at epoch 1, two epochs without improvement
    assert stopper.best_epoch == 1 and stopper.stopped_epoch == 3
    for key, value in trainer.model.state_dict().items():
        torch.testing.assert_close(value, script.snapshots[1][key])
    assert not torch.equal(script.snapshots[1]["first.bias"], script.snapshots[3]["first.bias"])


def test_early_stopping_state_round_trips() -> None:
    stopper = EarlyStopping(patience=3)
    stopper.trainer = make_trainer()
    stopper.on_epoch_end(0, {"val_loss": 0.5})
    stopper.on_epoch_end(1, {"val_loss": 0.6})
    clone = EarlyStopping(patience=3)
    clone.load_state_dict(stopper.state_dict())
    assert (clone.wait, clone.best, clone.best_epoch) == (1, 0.5, 0)


def test_reduce_lr_on_plateau_divides_the_learning_rate(stream) -> None:
    trainer = make_trainer(lr=1e-2)
    script = ScriptedValLoss([0.5, 0.6, 0.7, 0.8])
    reducer = ReduceLROnPlateau(factor=0.5, patience=2)
    trainer.fit(stream(0), 1, stream(1), 1, epochs=4, callbacks=[script, reducer], verbose=0)
    assert trainer.learning_rate == pytest.approx(5e-3)
    assert trainer.history.history["learning_rate"] == pytest.approx([1e-2, 1e-2, 1e-2, 5e-3])


def test_csv_logger_writes_one_row_per_epoch(stream, tmp_path) -> None:
    path = tmp_path / "history.csv"
    make_trainer().fit(stream(0), 2, stream(1), 1, epochs=3, callbacks=[CSVLogger(path)], verbose=0)
    rows = list(csv.DictReader(path.open()))
    assert [row["epoch"] for row in rows] == ["0", "1", "2"]
    assert all(0.0 <= float(row["val_accuracy"]) <= 1.0 for row in rows)


def test_model_checkpoint_saves_loadable_weights(stream, tmp_path) -> None:
    trainer = make_trainer()
    trainer.fit(stream(0), 2, epochs=2, verbose=0,
                callbacks=[ModelCheckpoint(tmp_path / "w{epoch}.safetensors")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w1.safetensors", "w2.safetensors"]
    fresh = make_trainer(seed=5)
    load_weights(fresh.model, tmp_path / "w2.safetensors")
    for key, value in trainer.model.state_dict().items():
        torch.testing.assert_close(fresh.model.state_dict()[key], value)


def test_epoch_line_format() -> None:
    logs = {"seconds": 41.23, "loss": 0.31121, "accuracy": 0.9012, "val_loss": 0.35211,
            "val_accuracy": 0.88743, "records_per_second": 12345.4}
    assert format_epoch_line(2, 10, logs) == (
        "Epoch 3/10 - 41.2s - loss: 0.3112 - accuracy: 0.9012 - val_loss: 0.3521 - "
        "val_accuracy: 0.8874 - 12,345 records/s")


def test_verbose_2_prints_one_line_per_epoch(stream, capsys) -> None:
    make_trainer().fit(stream(0), 2, stream(1), 1, epochs=3, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    pattern = r"Epoch \d/3 - [\d.]+s - loss: [\d.]+ - accuracy: [\d.]+ - val_loss: [\d.]+ - " \
              r"val_accuracy: [\d.]+ - [\d,]+ records/s"
    assert all(re.fullmatch(pattern, line) for line in lines)


def test_same_seed_gives_identical_weights_on_cpu(stream) -> None:
    trained = []
    for _ in range(2):
        trainer = make_trainer(seed=3)  # seeds, then builds: dropout masks come from the seed too
        trainer.fit(stream(0, noise=0.2), 5, epochs=2, verbose=0)
        trained.append(trainer)
    first, second = trained
    for key, value in first.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[key])


def test_fit_without_steps_per_epoch_reiterates_a_finite_dataset(stream) -> None:
    data = list(itertools.islice(stream(0), 3))
    recorder = Recorder()
    make_trainer().fit(data, epochs=2, callbacks=[recorder], verbose=0)
    assert recorder.calls.count("batch 2") == 2 and "batch 3" not in recorder.calls


def test_verbose_1_draws_a_progress_bar_on_stderr_and_the_line_on_stdout(stream, capsys) -> None:
    make_trainer().fit(stream(0), 3, stream(1), 1, epochs=1, verbose=1)
    captured = capsys.readouterr()
    assert "Epoch 1/1" in captured.err and "step" in captured.err  # tqdm redraws by time
    assert captured.out.startswith("Epoch 1/1 - ")
