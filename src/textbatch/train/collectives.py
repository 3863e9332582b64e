"""The process group and everything that crosses ranks, except the training step itself.

Owns: set-up from torchrun's environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``/``MASTER_PORT``), ``DistContext`` (where this process stands), the order in which
ranks build shared files (rank 0 first), the all-gather ``merge`` a vectorizer's fit uses, the
reduced metrics, the stop signal all ranks agree on, and turning a failed collective into one
clear ``DistributedError``. The DDP step is ``textbatch.train.distributed.DistributedTrainer``;
which records a rank reads is ``textbatch.data`` (``BatchStream(rank, world_size)``,
``RankBlocks``).

Plain ``textbatch train`` never creates a process group: ``current()`` is then a one-rank context
whose collectives are identities, and nothing here imports torch until a collective needs it (a
plain run's vectorize phase runs without torch: issue 12).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from textbatch.errors import TextbatchError

if TYPE_CHECKING:
    import torch

    from textbatch.data.source import BlockSource

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

    def rank_zero_builds(self, path: str | Path, build: Callable[[], object]) -> str | Path:
        """``build()`` (which writes ``path``) on rank 0 alone; the others wait, then find it.

        For the vectorized cache: one writer, every rank memory-maps the same files. ``--out``
        must therefore be on a filesystem every node sees (always true on one node).
        """
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
            from torch import distributed as dist

            with collective(self, doing):
                dist.barrier(group=_setup_group())

    def agree_signal(self, requested: int | None) -> int | None:
        """The stop signal every rank agrees on: the highest one any rank has received (SIGTERM
        over SIGINT), or None. A signal reaches ranks at slightly different moments; deciding
        on this shared value makes every rank stop after the same step, instead of one leaving
        while another waits in the next step's all-reduce. Alone: ``requested`` itself.

        Every rank must call it at the same points (after each step, at each epoch end)."""
        return self.max_across(requested or 0, "agreeing on a stop signal") or None

    def max_across(self, value: int, doing: str) -> int:
        """The largest of every rank's ``value`` (alone: ``value``); a collective, so every rank
        calls it at the same point. Used where ranks must take one decision together."""
        if not self.is_distributed:
            return int(value)
        import torch
        from torch import distributed as dist

        device = torch.device("cuda", torch.cuda.current_device()) \
            if self.backend == "nccl" else torch.device("cpu")
        flag = torch.tensor([int(value)], dtype=torch.int64, device=device)
        with collective(self, doing):
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item())

    # -- fitting on every rank's part ------------------------------------------------------------
    def blocks_of(self, source: BlockSource) -> BlockSource:
        """The contiguous run of ``source``'s blocks this rank reads while fitting a vectorizer."""
        from textbatch.data.views import RankBlocks

        return RankBlocks(source, self.rank, self.world_size) if self.is_distributed else source

    @property
    def merge(self) -> Callable[[Any], list[Any]] | None:
        """The vectorizer's ``merge`` hook: every rank's statistics, in rank order (None alone)."""
        return self.gather_objects if self.is_distributed else None

    def gather_objects(self, value: Any) -> list[Any]:
        """All ranks' ``value`` (picklable), in rank order, on every rank."""
        if not self.is_distributed:
            return [value]
        from torch import distributed as dist

        out: list[Any] = [None] * self.world_size
        with collective(self, "gathering fitted statistics"):
            dist.all_gather_object(out, value, group=_setup_group())
        return out

    def sum_across(self, values: Sequence[float], device: torch.device | None = None
                   ) -> list[float]:
        """Sums over ranks, added in rank order on every rank, so all ranks get the same bits
        (an all-reduce may add in another order on each rank; EarlyStopping must agree)."""
        import torch
        from torch import distributed as dist

        local = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
        if not self.is_distributed:
            return local.tolist()
        parts = [torch.empty_like(local) for _ in range(self.world_size)]
        with collective(self, "reducing metrics"):
            dist.all_gather(parts, local)
        return torch.stack(parts).cpu().sum(dim=0).tolist()


# -- the process group ---------------------------------------------------------------------------

_SETUP_GROUP: Any = None


def current() -> DistContext:
    """This process's context: from the live process group, else a plain one-rank run."""
    dist = sys.modules.get("torch.distributed")  # never imported: no process group either
    if dist is None or not (dist.is_available() and dist.is_initialized()):
        return DistContext()
    return DistContext(dist.get_rank(), dist.get_world_size(),
                       int(os.environ.get("LOCAL_RANK", "0")), dist.get_backend())


def setup(device: str = "auto") -> DistContext:
    """Join the job torchrun started (``WORLD_SIZE`` > 1 in the environment); otherwise do nothing.

    gloo on CPU, nccl when this rank trains on CUDA (each local rank on its own GPU). Idempotent.
    """
    global _SETUP_GROUP
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return current()
    import torch
    from torch import distributed as dist

    if dist.is_initialized():
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
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
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
    dist = sys.modules.get("torch.distributed")
    if isinstance(exc, getattr(dist, "DistError", ())):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(
        word in text for word in ("gloo", "Gloo", "NCCL", "Connection closed", "Connection reset",
                                  "timed out", "Timed out", "peer"))


@contextlib.contextmanager
def collective(ctx: DistContext, doing: str) -> Iterator[None]:
    """Turn a failed collective into one clear DistributedError that says how to resume."""
    try:
        yield
    except RuntimeError as exc:
        if not is_collective_failure(exc):
            raise
        raise DistributedError(f"rank {ctx.rank} of {ctx.world_size} lost contact with the other "
                               f"ranks while {doing} ({_first_line(exc)}). {RESUME_HINT}") from exc
