"""Keras-named callbacks: plain objects with no-op hooks; stopping is a flag on the trainer.

The trainer calls hooks by name (``on_epoch_end(epoch, logs)`` ...) on every callback in order.
Callbacks that hold state (EarlyStopping's counters and best weights, ReduceLROnPlateau's wait)
expose ``state_dict()/load_state_dict()`` so checkpoints can carry them across a resume.
"""

from __future__ import annotations

import copy
import csv
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from textbatch.train.trainer import Trainer

Logs = dict[str, float]


class Callback:
    """Base class: every hook is a no-op; ``trainer`` is set before ``on_train_begin``."""

    trainer: "Trainer | None" = None

    def set_trainer(self, trainer: "Trainer") -> None:
        self.trainer = trainer

    def on_train_begin(self, logs: Logs | None = None) -> None: ...
    def on_train_end(self, logs: Logs | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_test_begin(self, logs: Logs | None = None) -> None: ...
    def on_test_end(self, logs: Logs | None = None) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class History(Callback):
    """Per-epoch logs: ``history["val_loss"][i]`` is epoch ``epoch[i]`` (0-based)'s value."""

    def __init__(self) -> None:
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": list(self.epoch), "history": copy.deepcopy(self.history)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.history = list(state["epoch"]), copy.deepcopy(state["history"])


class _Monitor:
    """Shared "is this value better" logic for callbacks watching one metric."""

    def __init__(self, monitor: str, mode: str, min_delta: float):
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max'. Got {mode!r}.")
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)
        self.best = math.inf if mode == "min" else -math.inf

    def value(self, logs: Logs | None) -> float | None:
        return None if not logs or self.monitor not in logs else float(logs[self.monitor])

    def improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop after ``patience`` epochs without improvement of ``monitor``.

    With ``restore_best_weights`` (on by default, unlike Keras: the guide's script forgets it and
    reports its last, worse epoch) the best epoch's weights are put back when training ends,
    whether it stopped early or ran out of epochs.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 2, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True):
        self._watch = _Monitor(monitor, mode, min_delta)
        self.patience, self.restore_best_weights = patience, restore_best_weights
        self.wait, self.best_epoch, self.stopped_epoch = 0, -1, -1
        self.best_weights: dict[str, torch.Tensor] | None = None

    @property
    def best(self) -> float:
        return self._watch.best

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        value = self._watch.value(logs)
        if value is None:
            return
        if self._watch.improved(value):
            self._watch.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = _copy_weights(self.trainer.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.trainer.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return {"wait": self.wait, "best": self.best, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.wait, self._watch.best = state["wait"], state["best"]
        self.best_epoch, self.stopped_epoch = state["best_epoch"], state["stopped_epoch"]
        self.best_weights = state["best_weights"]


class TerminateOnNaN(Callback):
    """Stop as soon as a batch's loss is NaN or infinite (Keras's name); ``nan_at`` says where
    (1-based epoch, 0-based batch), so a caller can report the run as failed."""

    def __init__(self) -> None:
        self.nan_at: tuple[int, int] | None = None

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)) and self.trainer is not None:
            self.nan_at = (self.trainer.epoch + 1, batch)
            self.trainer.stop_training = True


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 min_delta: float = 1e-4, mode: str = "auto", min_lr: float = 0.0):
        if not 0.0 < factor < 1.0:
            raise ValueError(f"factor must be in (0, 1). Got {factor}.")
        self._watch = _Monitor(monitor, mode, min_delta)
        self.factor, self.patience, self.min_lr, self.wait = factor, patience, min_lr, 0

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        value = self._watch.value(logs)
        if logs is not None:
            logs["learning_rate"] = self.trainer.learning_rate
        if value is None:
            return
        if self._watch.improved(value):
            self._watch.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.trainer.learning_rate = max(self.trainer.learning_rate * self.factor, self.min_lr)
            self.wait = 0

    def state_dict(self) -> dict[str, Any]:
        return {"wait": self.wait, "best": self._watch.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.wait, self._watch.best = state["wait"], state["best"]


class ModelCheckpoint(Callback):
    """Save the model's weights (safetensors, atomically) after an epoch; with ``save_best_only``
    only when ``monitor`` improved. ``filepath`` may use ``{epoch}`` (1-based, as Keras)."""

    def __init__(self, filepath: str | Path, monitor: str = "val_loss",
                 save_best_only: bool = False, mode: str = "auto"):
        self.filepath, self.save_best_only = str(filepath), save_best_only
        self._watch = _Monitor(monitor, mode, 0.0)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.save_best_only:
            value = self._watch.value(logs)
            if value is None or not self._watch.improved(value):
                return
            self._watch.best = value
        from textbatch.train.weights import save_weights

        save_weights(self.trainer.model, Path(self.filepath.format(epoch=epoch + 1)))

    def state_dict(self) -> dict[str, Any]:
        return {"best": self._watch.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._watch.best = state["best"]


class CSVLogger(Callback):
    """One CSV row per epoch (``epoch`` then the logs' keys, sorted). The file is rewritten
    atomically after every epoch (a killed run keeps its history, never half a row) and its rows
    are checkpointed, so a resume replaces it rather than appending duplicates. ``append``
    continues an existing file."""

    def __init__(self, filename: str | Path, append: bool = False):
        self.filename, self.append = Path(filename), append
        self._keys: list[str] | None = None
        self._rows: list[list[Any]] = []

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.filename.parent.mkdir(parents=True, exist_ok=True)
        if self.append and self.filename.exists():
            with self.filename.open(newline="") as handle:
                rows = list(csv.reader(handle))
            self._keys, self._rows = (rows[0][1:], rows[1:]) if rows else (None, [])
        elif self.filename.exists():
            self.filename.unlink()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
        self._rows.append([epoch, *(_fmt(logs.get(k, "")) for k in self._keys)])
        self._write()

    def _write(self) -> None:
        from textbatch.io import atomic_write

        with atomic_write(self.filename, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["epoch", *(self._keys or [])])
            writer.writerows(self._rows)

    def state_dict(self) -> dict[str, Any]:
        return {"keys": self._keys, "rows": [list(row) for row in self._rows]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._keys, self._rows = state["keys"], [list(row) for row in state["rows"]]
        if self._keys is not None:
            self._write()


def _fmt(value: Any) -> Any:
    return repr(float(value)) if isinstance(value, float) else value


def _copy_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
