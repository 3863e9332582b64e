"""``BackupAndRestore`` (Keras's name): checkpoint a fit every N steps and at epoch ends, and put
every piece of it back on the next ``fit`` so the run continues bit for bit.

What a checkpoint holds: model weights; optimizer state (learning rate included, so a
ReduceLROnPlateau cut survives); every stateful callback's ``state_dict()`` (EarlyStopping's
counters and best weights, History, CSVLogger's rows, ReduceLROnPlateau's wait); the trainer's
counters (epoch, step in epoch, global step, stop flag) and the running sums of the epoch's loss
and accuracy; the position of every data loader (``BatchLoader.state_dict()``, a seek on resume);
the torch (dropout draws from it), CUDA, NumPy and Python RNG states; the run fingerprint and the
library versions.

It runs after every other callback (``runs_last``), so an epoch-end checkpoint sees History,
EarlyStopping and CSVLogger already updated for that epoch.

Under torchrun every rank runs it at the same points: whether to stop on a signal is agreed by
all ranks (``DistContext.agree_signal``) after each step and at each epoch end, rank 0 alone
writes, and every rank then waits for that write at a barrier with the long set-up timeout, so
the short step timeout only ever covers compute.
"""

from __future__ import annotations

import random
import sys
import time
from typing import Any, Mapping

import numpy as np
import torch

from textbatch.errors import CheckpointError
from textbatch.train.callbacks import Callback, Logs
from textbatch.train.checkpoint import CheckpointStore, join_tensors, split_tensors
from textbatch.train.collectives import current
from textbatch.train.signals import GracefulInterrupt, TrainingInterrupted
from textbatch.train.weights import load_matching


class BackupAndRestore(Callback):
    """Checkpoint into ``store`` every ``save_freq`` steps (0: epoch ends only) and at epoch
    ends; restore from ``store.latest()`` when training begins.

    An epoch-end checkpoint is skipped while fewer than ``save_seconds`` have passed since the
    last one (0: every epoch), except at the end of training (the last epoch, an early stop) and
    on a signal: a checkpoint of a 14 MB model, its Adam state and the best weights took 40-50 ms,
    more than a small data set's whole epoch, and resuming a minute of work saves nothing.

    Args:
        store: where checkpoints go.
        loaders: the data loaders whose positions are saved (``state_dict``/``load_state_dict``).
        save_freq: global steps between mid-epoch checkpoints; 0 = at epoch ends only.
        fingerprint: the run's identity, stored so a later run can refuse a mismatch.
        interrupt: when its ``requested`` is set, checkpoint after the current step and raise
            ``TrainingInterrupted`` carrying ``resume_hint``.
        writer: False on ranks that restore but never write (DDP: only rank 0 writes).
        verbose: say on stderr where training resumes.
        save_seconds: least seconds between epoch-end checkpoints before the last epoch.
    """

    runs_last = True

    def __init__(self, store: CheckpointStore, loaders: Mapping[str, Any], *,
                 save_freq: int = 0, fingerprint: dict[str, Any] | None = None,
                 interrupt: GracefulInterrupt | None = None, resume_hint: str = "",
                 writer: bool = True, verbose: bool = True, save_seconds: float = 0.0):
        self.store, self.loaders, self.save_freq = store, dict(loaders), int(save_freq)
        self.save_seconds, self._saved_at = float(save_seconds), time.monotonic()
        self.fingerprint, self.interrupt, self.resume_hint = fingerprint or {}, interrupt, resume_hint
        self.writer, self.verbose = writer, verbose
        self.last_saved: str | None = None

    # -- hooks -----------------------------------------------------------------------------------
    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._saved_at = time.monotonic()
        latest = self.store.latest()
        if latest is not None:
            state, tensors = self.store.load(latest)
            self.restore(state, tensors)
            if self.verbose:
                trainer = self.trainer
                print(f"Resuming from {latest}: epoch {trainer.epoch + 1}, step "
                      f"{trainer.step_in_epoch} of {trainer.steps_per_epoch}.", file=sys.stderr)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        trainer = self.trainer
        signum = self._requested()
        if signum:
            self._stop(signum, self.save(epoch_end=False))
        epoch_done = trainer.steps_per_epoch is not None and \
            trainer.step_in_epoch >= trainer.steps_per_epoch  # the epoch-end save follows
        if self.save_freq and trainer.global_step % self.save_freq == 0 and not epoch_done:
            self.save(epoch_end=False)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        path = self.save(epoch_end=True) if self._epoch_end_due() else None
        signum = self._requested()
        if signum:
            self._stop(signum, path if path is not None else self.save(epoch_end=True))

    def _epoch_end_due(self) -> bool:
        """Whether this epoch end checkpoints: always at the end of training, else once
        ``save_seconds`` have passed (decided together under torchrun: any rank's clock)."""
        trainer = self.trainer
        if self.save_seconds <= 0 or trainer.stop_training or trainer.epoch + 1 >= trainer.epochs:
            return True
        late = time.monotonic() - self._saved_at >= self.save_seconds
        return bool(current().max_across(int(late), "agreeing on a checkpoint"))

    # -- save and restore ------------------------------------------------------------------------
    def save(self, epoch_end: bool) -> str:
        """Write a checkpoint of the trainer now; at an epoch end it resumes at the next epoch.

        Returns its path on every rank: under torchrun all ranks call this together, rank 0
        writes, and all meet at a long-timeout barrier before the next step's collectives."""
        if self.writer:
            state, tensors = self.capture(epoch_end)
            self.last_saved = str(self.store.save(state, tensors))
        self._saved_at = time.monotonic()
        context = current()
        context.wait_all("waiting for rank 0 to write a checkpoint")
        if not self.writer and context.is_distributed:
            latest = self.store.latest()  # rank 0's, on the shared --out
            self.last_saved = "" if latest is None else str(latest)
        return self.last_saved or ""

    def capture(self, epoch_end: bool) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """(JSON state, tensors) of the trainer, its callbacks, loaders and RNGs."""
        trainer, tensors = self.trainer, {}
        totals = trainer.epoch_totals
        counters = {"epoch": trainer.epoch + 1 if epoch_end else trainer.epoch,
                    "step_in_epoch": 0 if epoch_end else trainer.step_in_epoch,
                    "global_step": trainer.global_step, "stop_training": trainer.stop_training,
                    "totals": [0.0, 0, 0] if epoch_end else
                    [totals.loss, totals.correct, totals.size]}
        state = {
            "fingerprint": self.fingerprint, "trainer": counters, "versions": _versions(),
            "loaders": {name: loader.state_dict() for name, loader in self.loaders.items()},
            "model": split_tensors(trainer.model.state_dict(), "model", tensors),
            "optimizer": split_tensors(trainer.optimizer.state_dict(), "optimizer", tensors),
            "callbacks": {key: split_tensors(cb.state_dict(), f"callbacks/{key}", tensors)
                          for key, cb in self._stateful().items()},
            "rng": _rng_state(tensors),
        }
        return state, tensors

    def restore(self, state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        """Put a loaded checkpoint back: weights, optimizer, callbacks, loaders, counters, RNG."""
        trainer = self.trainer
        _load_model(trainer.model, join_tensors(state["model"], tensors))
        try:
            trainer.optimizer.load_state_dict(join_tensors(state["optimizer"], tensors))
        except (ValueError, KeyError) as exc:
            raise CheckpointError(f"optimizer state does not fit this model ({exc}).") from None
        self._restore_callbacks(state["callbacks"], tensors)
        for name, loader in self.loaders.items():
            if name not in state["loaders"]:
                raise CheckpointError(f"the checkpoint has no position for the {name!r} data.")
            loader.load_state_dict(state["loaders"][name])
        counters = state["trainer"]
        trainer.epoch, trainer.step_in_epoch = counters["epoch"], counters["step_in_epoch"]
        trainer.global_step, trainer.stop_training = counters["global_step"], counters["stop_training"]
        totals = trainer.epoch_totals
        totals.loss, totals.correct, totals.size = counters["totals"]
        _set_rng_state(state["rng"], tensors)
        _warn_on_versions(state.get("versions", {}))

    # -- pieces ----------------------------------------------------------------------------------
    def _stateful(self) -> dict[str, Callback]:
        """The other callbacks that hold state, keyed by position and class name."""
        out: dict[str, Callback] = {}
        for callback in self.trainer.callbacks:
            if callback is not self and type(callback).state_dict is not Callback.state_dict:
                name = type(callback).__name__
                count = sum(key.split("#")[0] == name for key in out)
                out[f"{name}#{count + 1}" if count else name] = callback
        return out

    def _restore_callbacks(self, saved: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        current = self._stateful()
        # A rank that does not write (DDP rank > 0) may lack rank 0's logger; nothing else differs.
        if sorted(saved) != sorted(current) and (self.writer or set(current) - set(saved)):
            raise CheckpointError(f"the callbacks differ: the checkpoint has {sorted(saved)}, "
                                  f"this run has {sorted(current)}.")
        for key, callback in current.items():
            callback.load_state_dict(join_tensors(saved[key], tensors))

    def _requested(self) -> int | None:
        """The signal to stop on: this process's own alone, the one all ranks agree on under
        torchrun (a collective: every rank calls this at the same points)."""
        if self.interrupt is None:
            return None
        return current().agree_signal(self.interrupt.requested)

    def _stop(self, signum: int, path: str) -> None:
        raise TrainingInterrupted(signum, path, self.resume_hint)


def _load_model(model: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
    load_matching(model, weights, "the checkpoint's weights do not fit this model")


def _rng_state(tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    tensors["rng/torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for index, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{index}"] = state
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    return {"numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
            "python": [version, list(internal), gauss],
            "cuda_devices": torch.cuda.device_count() if torch.cuda.is_available() else 0}


def _set_rng_state(state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(tensors["rng/torch"])
    cuda = [tensors[f"rng/cuda/{i}"] for i in range(state.get("cuda_devices", 0))]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def _versions() -> dict[str, str]:
    from textbatch.version import __version__

    return {"textbatch": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": sys.version.split()[0]}


def _warn_on_versions(saved: dict[str, str]) -> None:
    """Bit-identical resume holds for the same library versions; other versions still resume."""
    changed = [f"{k} {saved[k]} -> {v}" for k, v in _versions().items()
               if k in saved and saved[k] != v]
    if changed:
        print(f"warning: resuming with other library versions ({', '.join(changed)}); the run "
              "continues but may not match an uninterrupted one bit for bit.", file=sys.stderr)
