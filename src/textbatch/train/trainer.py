"""The fit loop, with Keras's contract: ``fit(train, steps_per_epoch, validation_data, ...)``.

Owns STEPS: the state is explicit and small — ``model``, ``optimizer``, ``callbacks``, ``epoch``
(the next epoch to run), ``global_step`` and the live training iterator (the data position lives
in the stream that produced it, e.g. ``BatchLoader.state_dict()``). Batches come in as
``SparseBatch`` (or ready ``(inputs, labels)`` tensors); the trainer never sees a file or a string.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from typing import Any, Iterable, Iterator, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from textbatch.errors import ConfigError
from textbatch.features.batch import SparseBatch
from textbatch.models.predict import (batch_probabilities, chunked_logits,  # noqa: F401
                                      probabilities)
from textbatch.multilabel import MultiLabelAccumulator, epoch_scores
from textbatch.train.allocator import retain_freed_memory
from textbatch.train.callbacks import Callback, History, Logs
from textbatch.train.optim import AdamPair
from textbatch.train.progress import EpochLine, ProgressBar
from textbatch.train.seeds import pick_device

Batch = SparseBatch | tuple[dict[str, torch.Tensor], torch.Tensor]


class Trainer:
    """Trains ``model`` for ``num_classes`` classes (1 logit + BCE for 2, else C logits + CE),
    or with ``multilabel`` for ``num_classes`` labels (C logits, a BCE per label; labels are
    0/1 rows, accuracy is subset accuracy and validation adds micro/macro F1 and precision@1).

    ``sequence_length``/``padding`` turn a SparseBatch of token ids into the padded ``tokens``
    tensor sequence models expect; bag models leave them None. ``precision`` (``uses_bf16``)
    decides whether forward passes run under bfloat16 autocast.
    """

    def __init__(self, model: nn.Module, num_classes: int, *, learning_rate: float = 1e-3,
                 device: str = "auto", sequence_length: int | None = None,
                 padding: str = "pre", multilabel: bool = False, precision: str = "auto"):
        self.device = pick_device(device)
        if self.device.type == "cpu":
            retain_freed_memory()  # large per-step tensors: no page faults each step
            if getattr(model, "one_thread", False):
                torch.set_num_threads(1)  # see MLP.one_thread
        self.model = model.to(self.device)
        self.num_classes = num_classes
        self.multilabel = multilabel
        self.optimizer = AdamPair(self.model, learning_rate)
        self.sequence_length, self.padding = sequence_length, padding
        self.autocast = uses_bf16(precision, sequence_length is not None, self.device)
        self.callbacks: list[Callback] = []
        self.history = History()
        self.stop_training = False
        self.epoch = 0
        self.epochs = 0
        self.global_step = 0
        self.steps_per_epoch: int | None = None
        # Where the running epoch stands (a checkpoint restores both to resume mid-epoch).
        self.step_in_epoch = 0
        self.epoch_totals = _Totals()

    @property
    def learning_rate(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = value

    # -- the loop -------------------------------------------------------------------------------

    def fit(self, train: Iterable[Batch], steps_per_epoch: int | None = None,
            validation_data: Iterable[Batch] | None = None, validation_steps: int | None = None,
            epochs: int = 1, callbacks: Sequence[Callback] = (), verbose: int = 2) -> History:
        """Train from ``self.epoch`` up to ``epochs``. With ``steps_per_epoch`` one iterator of
        ``train`` is kept across epochs (an endless stream); without it every epoch re-iterates
        ``train`` to its end. Validation takes ``validation_steps`` batches (or all) each epoch."""
        self.epochs, self.steps_per_epoch = epochs, steps_per_epoch
        ordered = [*callbacks, self.history, *_verbosity(verbose)]
        # Checkpointing callbacks (runs_last) go last: they capture the others' state.
        self.callbacks = sorted(ordered, key=lambda c: getattr(c, "runs_last", False))
        for callback in self.callbacks:
            callback.set_trainer(self)
        self.stop_training = False
        self._call("on_train_begin", {})  # may restore a checkpoint: epoch, step, positions
        batches = iter(train) if steps_per_epoch is not None else None
        while self.epoch < epochs and not self.stop_training:
            epoch_batches = batches if batches is not None else iter(train)
            logs = self._run_epoch(epoch_batches, validation_data, validation_steps)
            self._call("on_epoch_end", self.epoch, logs)
            self.epoch += 1
            self.step_in_epoch, self.epoch_totals = 0, _Totals()
        self._call("on_train_end", {})
        return self.history

    def _run_epoch(self, batches: Iterator[Batch], validation_data: Iterable[Batch] | None,
                   validation_steps: int | None) -> Logs:
        self._call("on_epoch_begin", self.epoch, {})
        start = time.perf_counter()
        totals = self.epoch_totals
        self.model.train()
        first = self.step_in_epoch
        remaining = None if self.steps_per_epoch is None else self.steps_per_epoch - first
        for step, batch in enumerate(itertools.islice(batches, remaining), start=first):
            self._call("on_train_batch_begin", step, {})
            loss, correct, size = self.train_step(batch)
            totals.add(loss, correct, size)
            self.step_in_epoch = step + 1
            self._call("on_train_batch_end", step, {"loss": loss, "size": size})
            if self.stop_training:
                break
        seconds = time.perf_counter() - start
        logs = totals.logs("")
        if validation_data is not None:
            logs.update(self.evaluate(validation_data, validation_steps, prefix="val_"))
        logs["seconds"] = time.perf_counter() - start
        logs["records_per_second"] = totals.size / seconds if seconds > 0 else 0.0
        return logs

    def train_step(self, batch: Batch) -> tuple[float, int, int]:
        """One optimizer step; returns (mean loss, correct predictions, batch size).

        Subclasses change the step through two hooks, not by rewriting it: ``step_loss`` (the
        forward pass and the loss to differentiate) and ``step_guard`` (what wraps forward and
        backward, e.g. turning a failed all-reduce into a clear error)."""
        inputs, labels = self._tensors(batch)
        with self.step_guard():
            logits, loss, mean_loss = self.step_loss(inputs, labels)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
        self.optimizer.step()
        self.global_step += 1
        return mean_loss, int(self._correct(logits.detach(), labels)), len(labels)

    def step_loss(self, inputs: dict[str, torch.Tensor], labels: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor, float]:
        """(logits, the loss to call ``backward`` on, the batch's mean loss as a float)."""
        logits = self._forward(inputs)
        loss = self.loss(logits, labels)
        return logits, loss, float(loss.detach())

    def step_guard(self) -> contextlib.AbstractContextManager:
        """The context forward and backward run in (nothing for one process)."""
        return contextlib.nullcontext()

    @torch.no_grad()
    def evaluate(self, data: Iterable[Batch], steps: int | None = None, prefix: str = "") -> Logs:
        """Mean loss and accuracy over ``steps`` batches of ``data`` (all of it when None)."""
        self._call("on_test_begin", {})
        self.model.eval()
        totals = _Totals()
        scores = MultiLabelAccumulator(self.num_classes) if self.multilabel else None
        for batch in itertools.islice(iter(data), steps):
            inputs, labels = self._tensors(batch)
            logits = chunked_logits(self._forward_kwargs, inputs)
            totals.add(float(self.loss(logits, labels)), int(self._correct(logits, labels)),
                       len(labels))
            if scores is not None:
                scores.add(labels.cpu().numpy(), torch.sigmoid(logits).cpu().numpy())
        self.model.train()
        logs = totals.logs(prefix)
        if scores is not None and totals.size:
            logs.update(epoch_scores(scores.counts(scores.thresholds), scores.top1_hits,
                                     totals.size, prefix))
        self._call("on_test_end", logs)
        return logs

    def predict_proba(self, batch: Batch) -> torch.Tensor:
        """Class probabilities [n, num_classes] (on CPU) for one batch, labels not needed: the
        saved Classifier's path (``textbatch.models.predict``), on this trainer's model."""
        inputs = batch if isinstance(batch, SparseBatch) else batch[0]
        return batch_probabilities(self.model, inputs, self.num_classes, self.sequence_length,
                                   self.padding, self.multilabel)

    # -- pieces ---------------------------------------------------------------------------------

    def _forward(self, inputs: dict[str, torch.Tensor], module: nn.Module | None = None
                 ) -> torch.Tensor:
        """Logits of ``module`` (the model, or its DDP wrapper), in float32 (computed under bf16
        autocast where ``self.autocast``)."""
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            logits = (module or self.model)(**inputs)
        return logits.float()

    def _forward_kwargs(self, **inputs: torch.Tensor) -> torch.Tensor:
        return self._forward(inputs)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """BCE-with-logits on the single logit for 2 classes, cross-entropy otherwise; for
        multi-label, BCE-with-logits of every label, averaged over labels and records."""
        if self.multilabel:
            return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
        if self.num_classes == 2:
            return F.binary_cross_entropy_with_logits(logits[:, 0], labels.to(logits.dtype))
        return F.cross_entropy(logits, labels)

    def _correct(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Records predicted exactly right (multi-label: every label, at probability 0.5)."""
        if self.multilabel:
            return ((logits > 0) == labels.bool()).all(dim=1).sum()
        if self.num_classes == 2:
            predicted = (logits[:, 0] > 0).long()
        else:
            predicted = logits.argmax(dim=1)
        return (predicted == labels).sum()

    def _tensors(self, batch: Batch, need_labels: bool = True) -> tuple[dict[str, Any], Any]:
        if isinstance(batch, SparseBatch):
            inputs, labels = batch.to_tensors(self.sequence_length, self.padding)
        else:
            inputs, labels = batch
        if need_labels and labels is None:
            raise ValueError("A training or validation batch has no labels.")
        inputs = {k: v.to(self.device, non_blocking=True) for k, v in inputs.items()}
        return inputs, None if labels is None else labels.to(self.device, non_blocking=True)

    def _call(self, hook: str, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args)


def uses_bf16(precision: str, sequence_model: bool, device: torch.device) -> bool:
    """Whether forward passes run under bfloat16 autocast (weights, gradients, the loss and the
    optimizer stay float32). ``auto``: sequence models on a CUDA GPU that has bf16; CPUs keep
    float32, so a CPU run's numbers do not depend on which CPU ran it. ``bfloat16`` on a CPU with
    native bf16 matmuls (AVX512-BF16 / AMX) trained IMDB's sepCNN 1.3x faster, test accuracy
    0.8798 vs 0.8796 in float32, same seed (issue 11, docs/BENCHMARKS.md). ``float32`` never
    autocasts."""
    if precision == "bfloat16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError(f"--precision bfloat16: {device} has no bfloat16 support. Use "
                          "--precision float32 (or auto).")
    if precision != "auto":
        return precision == "bfloat16"
    return sequence_model and device.type == "cuda" and torch.cuda.is_bf16_supported()


class _Totals:
    """Size-weighted running sums of loss and correct predictions."""

    def __init__(self) -> None:
        self.loss = 0.0
        self.correct = 0
        self.size = 0

    def add(self, loss: float, correct: int, size: int) -> None:
        self.loss += loss * size
        self.correct += correct
        self.size += size

    def logs(self, prefix: str) -> Logs:
        if self.size == 0:
            return {}
        return {f"{prefix}loss": self.loss / self.size, f"{prefix}accuracy": self.correct / self.size}


def _verbosity(verbose: int) -> list[Callback]:
    if verbose >= 2:
        return [EpochLine()]
    if verbose == 1:
        return [ProgressBar()]
    return []
