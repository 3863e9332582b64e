"""Data-parallel training on PyTorch's own engine: ``torchrun ... -m textbatch train ...``.

Owns the process group and everything that crosses ranks: set-up from torchrun's environment
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``), the order in which
ranks build shared files (rank 0 first), the all-gather ``merge`` a vectorizer's fit uses, the
``DistributedDataParallel`` step, the reduced metrics and
the stop signal all ranks agree on. Leaves to others: which records a rank
reads (``textbatch.data.BatchStream(rank, world_size)`` gives every rank the same number of steps),
what a checkpoint holds (``textbatch.train.checkpoint``) and the pipeline's phases.

Batch semantics follow Keras's ``MirroredStrategy``: ``batch_size`` is the *global* batch. Each of
R ranks takes ``ceil(batch_size / R)`` records of every global step, and the loss of a rank is its
summed loss times ``R / records in the step``; DDP averages gradients over ranks, so each step's
gradient is the mean over the very records a single process would have used in that step.

Plain ``textbatch train`` never creates a process group: ``current()`` is then a one-rank context
whose collectives are identities.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import distributed as dist
from torch.nn import functional as F

from textbatch.errors import TextbatchError
from textbatch.train.callbacks import Logs
from textbatch.train.trainer import Batch, Trainer

# Training collectives give up after this long (a hung peer must fail the job, never hang it);
# ``TEXTBATCH_DIST_TIMEOUT`` overrides it (seconds).
STEP_TIMEOUT_S = 60.0
# Waits while another rank builds manifests, fits or writes the cache are as long as that work.
SETUP_TIMEOUT_S = 6 * 3600.0
RESUME_HINT = ("Another process of the job failed or was killed (see its own error, or torchrun's "
               "summary). Rerun the same torchrun command with the same --out to resume from the "
               "last checkpoint.")


class DistributedError(TextbatchError):
    """A collective failed: a peer died, hung past the timeout or the network broke."""


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in the job; ``world_size == 1`` means a plain run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_rank_zero(self) -> bool:
        return self.rank == 0

    def local_batch(self, batch_size: int) -> int:
        """This rank's share of a global batch (the last rank's share may be smaller)."""
        return -(-batch_size // self.world_size)

    # -- ordering shared work -------------------------------------------------------------------
    @contextlib.contextmanager
    def rank_zero_first(self) -> Iterator[None]:
        """Run the body on rank 0, then on every other node's local rank 0, then on the rest.

        For work whose result later ranks find on disk (manifest cache, vectorized cache): on one
        node or a shared filesystem only rank 0 does it; a node with its own disk builds it once.
        """
        if not self.is_distributed:
            yield
            return
        stage = 0 if self.rank == 0 else 1 if self.local_rank == 0 else 2
        for _ in range(stage):
            self.wait_all("waiting for rank 0 to prepare shared files")
        yield
        for _ in range(stage, 3):
            self.wait_all("waiting for the other ranks to prepare shared files")

    def rank_zero_builds(self, path: Any, build: Callable[[], Any]) -> Any:
        """``build()`` (which writes ``path``) on rank 0 alone; the others wait, then find it.

        For the vectorized cache: one writer, every rank memory-maps the same files. ``--out``
        must therefore be on a filesystem every node sees (always true on one node).
        """
        from pathlib import Path

        if self.rank == 0:
            build()
        self.wait_all("waiting for rank 0 to write the vectorized cache")
        if not Path(path).exists():
            raise DistributedError(
                f"rank {self.rank}: {path} written by rank 0 is not visible here. With several "
                "nodes, --out must be on a filesystem they all share (NFS, a cluster file system).")
        return path

    def wait_all(self, doing: str) -> None:
        """A barrier with the long set-up timeout (also where ranks wait for rank 0's checkpoint
        writes, so a slow disk is never mistaken for a dead peer by the short step timeout)."""
        if self.is_distributed:
            with _collective(self, doing):
                dist.barrier(group=_setup_group())

    def agree_signal(self, requested: int | None) -> int | None:
        """The stop signal every rank agrees on: the highest one any rank has received (SIGTERM
        over SIGINT), or None. A signal reaches ranks at slightly different moments; deciding
        on this shared value makes every rank stop after the same step, instead of one leaving
        while another waits in the next step's all-reduce. Alone: ``requested`` itself.

        Every rank must call it at the same points (after each step, at each epoch end)."""
        if not self.is_distributed:
            return requested
        device = torch.device("cuda", torch.cuda.current_device()) \
            if self.backend == "nccl" else torch.device("cpu")
        flag = torch.tensor([requested or 0], dtype=torch.int64, device=device)
        with _collective(self, "agreeing on a stop signal"):
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item()) or None

    # -- fitting on every rank's part ------------------------------------------------------------
    def blocks_of(self, source: Any) -> Any:
        """The contiguous run of ``source``'s blocks this rank reads while fitting a vectorizer."""
        return RankBlocks(source, self.rank, self.world_size) if self.is_distributed else source

    @property
    def merge(self) -> Callable[[Any], list[Any]] | None:
        """The vectorizer's ``merge`` hook: every rank's statistics, in rank order (None alone)."""
        return self.gather_objects if self.is_distributed else None

    def gather_objects(self, value: Any) -> list[Any]:
        """All ranks' ``value`` (picklable), in rank order, on every rank."""
        if not self.is_distributed:
            return [value]
        out: list[Any] = [None] * self.world_size
        with _collective(self, "gathering fitted statistics"):
            dist.all_gather_object(out, value, group=_setup_group())
        return out

    def sum_across(self, values: Sequence[float], device: torch.device | None = None
                   ) -> list[float]:
        """Sums over ranks, added in rank order on every rank, so all ranks get the same bits
        (an all-reduce may add in another order on each rank; EarlyStopping must agree)."""
        local = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
        if not self.is_distributed:
            return local.tolist()
        parts = [torch.empty_like(local) for _ in range(self.world_size)]
        with _collective(self, "reducing metrics"):
            dist.all_gather(parts, local)
        return torch.stack(parts).cpu().sum(dim=0).tolist()


class RankBlocks:
    """A BlockSource view holding rank ``rank``'s contiguous share of ``source``'s blocks
    (contiguous so a compressed shard is read forward, once)."""

    def __init__(self, source: Any, rank: int, world_size: int) -> None:
        sizes = np.asarray(source.block_sizes, dtype=np.int64)
        bounds = np.linspace(0, len(sizes), world_size + 1).round().astype(int)
        self.source, self.first = source, int(bounds[rank])
        self._sizes = sizes[bounds[rank]: bounds[rank + 1]]

    @property
    def block_sizes(self) -> np.ndarray:
        return self._sizes

    def read_block(self, index: int) -> Sequence:
        return self.source.read_block(self.first + index)


# -- the process group ---------------------------------------------------------------------------

_SETUP_GROUP: Any = None


def current() -> DistContext:
    """This process's context: from the live process group, else a plain one-rank run."""
    if not (dist.is_available() and dist.is_initialized()):
        return DistContext()
    return DistContext(dist.get_rank(), dist.get_world_size(),
                       int(os.environ.get("LOCAL_RANK", "0")), dist.get_backend())


def setup(device: str = "auto") -> DistContext:
    """Join the job torchrun started (``WORLD_SIZE`` > 1 in the environment); otherwise do nothing.

    gloo on CPU, nccl when this rank trains on CUDA (each local rank on its own GPU). Idempotent.
    """
    global _SETUP_GROUP
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1 or dist.is_initialized():
        return current()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    if use_cuda:
        torch.cuda.set_device(local_rank)
    backend = "nccl" if use_cuda else "gloo"
    try:
        dist.init_process_group(backend, timeout=timedelta(seconds=step_timeout()))
        _SETUP_GROUP = dist.new_group(backend="gloo", timeout=timedelta(seconds=SETUP_TIMEOUT_S))
    except (RuntimeError, ValueError) as exc:
        raise DistributedError(
            f"Could not join the distributed job (RANK={os.environ.get('RANK')}, WORLD_SIZE="
            f"{world_size}, MASTER_ADDR={os.environ.get('MASTER_ADDR')}, MASTER_PORT="
            f"{os.environ.get('MASTER_PORT')}): {_first_line(exc)}. Check that every node runs "
            "the same torchrun command with a reachable --rdzv-endpoint.") from exc
    atexit.register(shutdown)
    return current()


def shutdown() -> None:
    """Leave the process group (registered at exit by ``setup``)."""
    global _SETUP_GROUP
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    _SETUP_GROUP = None


def step_timeout() -> float:
    return float(os.environ.get("TEXTBATCH_DIST_TIMEOUT", STEP_TIMEOUT_S))


def _setup_group() -> Any:
    return _SETUP_GROUP


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def is_collective_failure(exc: BaseException) -> bool:
    """Whether ``exc`` comes from the communication layer rather than from our own code."""
    if isinstance(exc, getattr(dist, "DistError", ())):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(
        word in text for word in ("gloo", "Gloo", "NCCL", "Connection closed", "Connection reset",
                                  "timed out", "Timed out", "peer"))


@contextlib.contextmanager
def _collective(ctx: DistContext, doing: str) -> Iterator[None]:
    """Turn a failed collective into one clear DistributedError that says how to resume."""
    try:
        yield
    except RuntimeError as exc:
        if not is_collective_failure(exc):
            raise
        raise DistributedError(f"rank {ctx.rank} of {ctx.world_size} lost contact with the other "
                               f"ranks while {doing} ({_first_line(exc)}). {RESUME_HINT}") from exc


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

    def train_step(self, batch: Batch) -> tuple[float, int, int]:
        """One synchronized step; returns this rank's (mean loss, correct, records)."""
        inputs, labels = self._tensors(batch)
        size = len(labels)
        with _collective(self.context, f"training step {self.global_step + 1}"):
            step_size = self._step_size(size)
            logits = self.ddp(**inputs)
            summed = summed_loss(logits, labels, self.num_classes)
            loss = summed * (self.context.world_size / max(step_size, 1))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
        self.optimizer.step()
        self.global_step += 1
        total, correct = float(summed.detach()), int(self._correct(logits.detach(), labels))
        return (total / size if size else 0.0), correct, size

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
        for batch in itertools.islice(iter(data), steps):
            inputs, labels = self._tensors(batch)
            logits = self.model(**inputs)
            sums[0] += float(summed_loss(logits, labels, self.num_classes))
            sums[1] += int(self._correct(logits, labels))
            sums[2] += len(labels)
        self.model.train()
        loss_sum, correct, size = self.context.sum_across(sums, self.device)
        logs = {f"{prefix}loss": loss_sum / size, f"{prefix}accuracy": correct / size} if size else {}
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


def summed_loss(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The trainer's loss summed over the batch (0, still connected to the graph, when empty)."""
    if num_classes == 2:
        return F.binary_cross_entropy_with_logits(logits[:, 0], labels.to(logits.dtype),
                                                  reduction="sum")
    return F.cross_entropy(logits, labels, reduction="sum")
