"""Data-parallel training on PyTorch's own engine: ``torchrun ... -m textbatch train ...``.

``DistributedTrainer`` is a ``Trainer`` whose step hooks go through ``DistributedDataParallel``
and whose logs are reduced over ranks. The process group, ``DistContext`` and the collectives live
in ``textbatch.train.collectives`` (re-exported here: ``setup``, ``current``, ``DistContext``).

Batch semantics follow Keras's ``MirroredStrategy``: ``batch_size`` is the *global* batch. Each of
R ranks takes ``ceil(batch_size / R)`` records of every global step, and the loss of a rank is its
summed loss times ``R / records in the step``; DDP averages gradients over ranks, so each step's
gradient is the mean over the very records a single process would have used in that step.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from typing import Any, Iterable, Iterator

import numpy as np
import torch
from torch import distributed as dist
from torch.nn import functional as F

from textbatch.multilabel import MultiLabelAccumulator, epoch_scores
from textbatch.train.callbacks import Logs
from textbatch.train.collectives import (  # noqa: F401 (re-exported: the public entry points)
    DistContext,
    DistributedError,
    collective,
    current,
    setup,
    shutdown,
)
from textbatch.train.trainer import Batch, Trainer


# -- the data-parallel trainer -------------------------------------------------------------------

class DistributedTrainer(Trainer):
    """``Trainer`` whose step goes through ``DistributedDataParallel`` and whose logs are global.

    ``self.model`` stays the bare module (weights saved without a ``module.`` prefix, evaluation
    without gradient hooks); ``self.ddp`` wraps it for training steps. A rank whose slice of a
    step is empty still runs forward/backward on zero records, so its gradient hooks join the
    all-reduce and DDP never waits for it.
    """

    def __init__(self, model: torch.nn.Module, num_classes: int, *,
                 context: DistContext | None = None, **kwargs: Any) -> None:
        super().__init__(model, num_classes, **kwargs)
        self.context = context or current()
        ids = [self.device.index or 0] if self.device.type == "cuda" else None
        self.ddp = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.comm_seconds = 0.0  # all-reduce wall time: the step-size reduce, and DDP's own
        # buckets once ``time_communication`` is on (bench/scale.py)

    def step_guard(self) -> contextlib.AbstractContextManager:
        """A lost peer during the step (forward, DDP's all-reduce in backward) fails the job with
        one clear error that says how to resume."""
        return collective(self.context, f"training step {self.global_step + 1}")

    def step_loss(self, inputs: dict[str, torch.Tensor], labels: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor, float]:
        """Forward through DDP; the loss is this rank's summed loss times R / records in the
        global step (so DDP's mean over ranks is the mean over the step's records)."""
        size = len(labels)
        step_size = self._step_size(size)
        logits = self._forward(inputs, self.ddp)
        summed = summed_loss(logits, labels, self.num_classes, self.multilabel)
        loss = summed * (self.context.world_size / max(step_size, 1))
        total = float(summed.detach())
        return logits, loss, (total / size if size else 0.0)

    def _step_size(self, size: int) -> int:
        """Records in this global step over all ranks (only the last step's slices differ)."""
        count = torch.tensor([size], dtype=torch.int64, device=self.device)
        start = time.perf_counter()
        dist.all_reduce(count)
        self.comm_seconds += time.perf_counter() - start
        return int(count.item())

    def _run_epoch(self, batches: Iterator[Batch], validation_data: Iterable[Batch] | None,
                   validation_steps: int | None) -> Logs:
        """The base epoch, then the training loss/accuracy/rate replaced by their global values
        (from ``epoch_totals``, which a mid-epoch resume restores)."""
        logs = super()._run_epoch(batches, validation_data, validation_steps)
        totals = self.epoch_totals
        local_size = totals.size
        loss_sum, correct, size = self.context.sum_across(
            [totals.loss, totals.correct, totals.size], self.device)
        if size:
            logs["loss"], logs["accuracy"] = loss_sum / size, correct / size
        if local_size:
            logs["records_per_second"] = logs.get("records_per_second", 0.0) * size / local_size
        return logs

    @torch.no_grad()
    def evaluate(self, data: Iterable[Batch], steps: int | None = None, prefix: str = "") -> Logs:
        """Loss and accuracy over every rank's share of ``data``: sums and counts reduced, so all
        ranks see the same logs (and EarlyStopping decides the same on each)."""
        self._call("on_test_begin", {})
        self.model.eval()
        sums = [0.0, 0.0, 0.0]
        scores = MultiLabelAccumulator(self.num_classes) if self.multilabel else None
        for batch in itertools.islice(iter(data), steps):
            inputs, labels = self._tensors(batch)
            logits = self._forward(inputs)
            sums[0] += float(summed_loss(logits, labels, self.num_classes, self.multilabel))
            sums[1] += int(self._correct(logits, labels))
            sums[2] += len(labels)
            if scores is not None:
                scores.add(labels.cpu().numpy(), torch.sigmoid(logits).cpu().numpy())
        self.model.train()
        if scores is not None:  # label counts at 0.5 and top-1 hits, summed like the rest
            sums += [*np.concatenate(scores.counts(scores.thresholds)).tolist(), scores.top1_hits]
        summed = self.context.sum_across(sums, self.device)
        loss_sum, correct, size = summed[:3]
        logs = {f"{prefix}loss": loss_sum / size, f"{prefix}accuracy": correct / size} if size else {}
        if scores is not None and size:
            counts = np.asarray(summed[3:-1]).reshape(3, self.num_classes)
            logs.update(epoch_scores(tuple(counts), int(summed[-1]), int(size), prefix))
        self._call("on_test_end", logs)
        return logs

    def time_communication(self) -> None:
        """Install a DDP comm hook that adds each bucket's all-reduce wall time to
        ``comm_seconds`` (for ``bench/scale.py``; training works the same without it)."""
        self.ddp.register_comm_hook(self, _timed_allreduce)


def _timed_allreduce(trainer, bucket):  # unannotated: DDP rejects string annotations here
    """DDP's default all-reduce (mean over ranks), timed from launch to completion."""
    start = time.perf_counter()
    tensor = bucket.buffer().div_(dist.get_world_size())
    future = dist.all_reduce(tensor, async_op=True).get_future()

    def done(fut: torch.futures.Future) -> torch.Tensor:
        trainer.comm_seconds += time.perf_counter() - start
        return fut.value()[0]

    return future.then(done)


def summed_loss(logits: torch.Tensor, labels: torch.Tensor, num_classes: int,
                multilabel: bool = False) -> torch.Tensor:
    """The trainer's loss summed over the batch (0, still connected to the graph, when empty);
    multi-label: each record's mean BCE over its labels, summed over records."""
    if multilabel:
        return F.binary_cross_entropy_with_logits(
            logits, labels.to(logits.dtype), reduction="none").mean(dim=1).sum()
    if num_classes == 2:
        return F.binary_cross_entropy_with_logits(logits[:, 0], labels.to(logits.dtype),
                                                  reduction="sum")
    return F.cross_entropy(logits, labels, reduction="sum")
