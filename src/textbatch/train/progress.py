"""What ``verbose`` prints: 2 = one line per epoch on stdout, 1 = a tqdm bar on stderr."""

from __future__ import annotations

import sys
from typing import Any

from textbatch.train.callbacks import Callback, Logs

ORDER = ("loss", "accuracy", "val_loss", "val_accuracy", "val_micro_f1", "val_macro_f1",
         "val_precision_at_1")  # the last three: multi-label runs (accuracy = subset accuracy)


def format_epoch_line(epoch: int, epochs: int, logs: Logs) -> str:
    """``Epoch 3/10 - 41.2s - loss: 0.3112 - accuracy: 0.9012 - val_loss: ... - 12,345 records/s``."""
    parts = [f"Epoch {epoch + 1}/{epochs}", f"{logs.get('seconds', 0.0):.1f}s"]
    parts += [f"{key}: {logs[key]:.4f}" for key in ORDER if key in logs]
    if "records_per_second" in logs:
        parts.append(f"{logs['records_per_second']:,.0f} records/s")
    return " - ".join(parts)


class EpochLine(Callback):
    """verbose=2: the one summary line per epoch."""

    def __init__(self, stream: Any = None):
        self.stream = stream

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        line = format_epoch_line(epoch, self.trainer.epochs, logs or {})
        print(line, file=self.stream or sys.stdout, flush=True)


class ProgressBar(EpochLine):
    """verbose=1: a tqdm bar per epoch (records/s and ETA) on stderr, then the summary line."""

    def __init__(self, stream: Any = None):
        super().__init__(stream)
        self._bar = None

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        from tqdm.auto import tqdm

        total = self.trainer.steps_per_epoch
        self._bar = tqdm(total=total, desc=f"Epoch {epoch + 1}/{self.trainer.epochs}",
                         unit="step", file=sys.stderr, leave=False, dynamic_ncols=True)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self._bar is None:
            return
        self._bar.update(1)
        logs = logs or {}
        rate = self._bar.format_dict.get("rate") or 0.0
        self._bar.set_postfix(loss=f"{logs.get('loss', 0.0):.4f}",
                              records_s=f"{rate * logs.get('size', 0):,.0f}", refresh=False)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        super().on_epoch_end(epoch, logs)
