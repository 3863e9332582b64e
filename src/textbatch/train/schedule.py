"""Learning-rate schedules: the rate of every optimizer step as a pure function of the global step.

Why a pure function of the step, set before each batch, rather than a stateful scheduler that is
stepped: a resumed run restores ``Trainer.global_step`` from its checkpoint and so continues the
very same curve, with nothing more to save (issue 12). The curve spans ``epochs *
steps_per_epoch`` steps, so ``--epochs`` is part of a scheduled run's identity (see
``textbatch.pipeline.resume.run_fingerprint``).

Schedules (``base`` is ``--learning-rate``, ``t`` the step, ``T`` the last step of the run,
``W`` the warm-up steps):

- ``constant``: ``base`` (after a linear warm-up from ``base / W`` when ``W > 0``);
- ``linear-decay``: warm-up, then a straight line from ``base`` down to 0 at the end of the run;
- ``cosine``: warm-up, then half a cosine from ``base`` down to 0 (Loshchilov & Hutter 2017);
- ``one-cycle``: Smith & Topin 2019, the rates of ``torch.optim.lr_scheduler.OneCycleLR`` (cosine
  both ways, no momentum cycling): up from ``base / 25`` to ``base`` over the warm-up (30% of the
  run when none is given), then down to ``base / 25e4`` at the last step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textbatch.config import LR_SCHEDULES as SCHEDULES
from textbatch.train.callbacks import Callback, Logs

if TYPE_CHECKING:
    from textbatch.train.trainer import Trainer

ONE_CYCLE_WARMUP = 0.3  # OneCycleLR's pct_start: the rising share when no warm-up is given
ONE_CYCLE_START = 25.0  # OneCycleLR's div_factor: the rate starts at base / 25
ONE_CYCLE_END = 1e4  # OneCycleLR's final_div_factor: it ends at the start rate / 1e4


@dataclass(frozen=True)
class LRSchedule:
    """The learning rate of each step of a run of ``total_steps`` optimizer steps."""

    kind: str
    base_lr: float
    total_steps: int
    warmup_steps: int = 0

    def __post_init__(self) -> None:
        check_kind(self.kind)
        if self.total_steps < 1 or not 0 <= self.warmup_steps <= self.total_steps:
            raise ValueError(f"Need 0 <= warmup_steps <= total_steps and total_steps >= 1. "
                             f"Got {self.warmup_steps} and {self.total_steps}.")

    def lr(self, step: int) -> float:
        """The rate of 0-based optimizer step ``step`` (steps past the end keep the last rate)."""
        step = min(max(step, 0), self.total_steps - 1)
        if self.kind == "one-cycle":
            return self._one_cycle(step)
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        if self.kind == "constant":
            return self.base_lr
        # progress through the decay: 0 at its first step, 1 one step after the last step
        done = (step - self.warmup_steps) / (self.total_steps - self.warmup_steps)
        if self.kind == "linear-decay":
            return self.base_lr * (1.0 - done)
        return self.base_lr * 0.5 * (1.0 + math.cos(math.pi * done))

    def _one_cycle(self, step: int) -> float:
        """OneCycleLR's two cosine phases, step for step: the peak at step ``rise - 1``, the
        end rate at the last step (``rise`` is fractional, as torch's, when not given)."""
        rise = self.warmup_steps or ONE_CYCLE_WARMUP * self.total_steps
        peak, last = rise - 1, self.total_steps - 1
        start = self.base_lr / ONE_CYCLE_START
        end = start / ONE_CYCLE_END
        if step <= peak:
            return _cosine_between(start, self.base_lr, step / peak if peak > 0 else 1.0)
        return _cosine_between(self.base_lr, end, (step - peak) / (last - peak))


def check_kind(kind: str) -> None:
    """Refuse a schedule name that is not one of ``SCHEDULES``."""
    if kind not in SCHEDULES:
        raise ValueError(f"Unknown learning-rate schedule {kind!r}. "
                         f"Known: {', '.join(SCHEDULES)}.")


def _cosine_between(start: float, end: float, fraction: float) -> float:
    """From ``start`` (fraction 0) to ``end`` (fraction 1) along half a cosine."""
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * fraction))


def warmup_steps(warmup_epochs: float, steps_per_epoch: int, total_steps: int) -> int:
    """Warm-up epochs (a fraction allowed) as optimizer steps, within the run."""
    return min(total_steps, round(warmup_epochs * steps_per_epoch))


class LearningRateScheduler(Callback):
    """Sets the optimizer's rate before every training batch from ``kind`` (Keras's name).

    The horizon is the trainer's ``epochs * steps_per_epoch``, known once ``fit`` starts;
    ``steps_per_epoch`` is needed for fits that iterate each epoch to its end instead. Each
    epoch's log gets ``learning_rate``, the rate of its last step."""

    def __init__(self, kind: str, base_lr: float, warmup_epochs: float = 0.0,
                 steps_per_epoch: int | None = None):
        check_kind(kind)  # at once, not when fit starts
        if warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be >= 0. Got {warmup_epochs}.")
        self.kind, self.base_lr, self.warmup_epochs = kind, base_lr, warmup_epochs
        self.steps_per_epoch = steps_per_epoch
        self.schedule: LRSchedule | None = None

    def set_trainer(self, trainer: "Trainer") -> None:
        super().set_trainer(trainer)
        per_epoch = self.steps_per_epoch or trainer.steps_per_epoch
        if not per_epoch:
            raise ValueError("A learning-rate schedule needs the steps per epoch: pass "
                             "steps_per_epoch to fit or to LearningRateScheduler.")
        total = max(1, trainer.epochs * per_epoch)
        self.schedule = LRSchedule(self.kind, self.base_lr, total,
                                   warmup_steps(self.warmup_epochs, per_epoch, total))

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self.trainer.learning_rate = self.schedule.lr(self.trainer.global_step)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = self.trainer.learning_rate
