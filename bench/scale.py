"""Records/s of the training loop with 1 and 2 processes on this machine, and the communication
share of a data-parallel step (time in all-reduce / total step time).

Each configuration runs in fresh processes, launched the way torchrun would (RANK, WORLD_SIZE,
MASTER_ADDR, MASTER_PORT), with the machine's cores split between the ranks (2 cores: 1 process x
2 threads vs 2 processes x 1 thread). The batches come from a vectorized cache: a real one with
``--cache runs/imdb/cache/train`` (what ``textbatch train`` writes), else synthetic IMDB-shaped
tf-idf rows (20,000 features, ~170 non-zeros a row, 25,000 rows) written once under /tmp.

    python bench/scale.py                                   # synthetic cache, 1 vs 2 processes
    python bench/scale.py --cache /tmp/runs/imdb/cache/train --epochs 3

The global batch is the same in both runs (``--batch-size``; each of R ranks takes 1/R of it),
so a step does the same arithmetic and the difference is parallelism minus communication.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, print_table  # noqa: E402

SYNTHETIC = Path("/tmp/textbatch-bench-scale-cache")
ROWS, FEATURES, NNZ = 25_000, 20_000, 170


def synthetic_cache(folder: Path) -> Path:
    """IMDB-shaped tf-idf rows (fixed seed), as a vectorized cache."""
    import numpy as np

    from textbatch.features.batch import SparseBatch
    from textbatch.features.cache import open_cache, write_cache

    key = {"synthetic": [ROWS, FEATURES, NNZ]}
    if open_cache(folder, key) is not None:
        return folder

    def chunks():
        rng = np.random.default_rng(0)
        for start in range(0, ROWS, 1_000):
            lengths = rng.integers(NNZ // 2, NNZ * 3 // 2, 1_000)
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            labels = rng.integers(0, 2, 1_000)
            ids = rng.integers(0, FEATURES, offsets[-1])
            ids[offsets[:-1]] = labels  # a learnable signal, so the loss moves
            weights = rng.random(offsets[-1]).astype(np.float32)
            yield SparseBatch(ids, weights, offsets, labels)

    return write_cache(folder, chunks(), key)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(world_size: int, args: argparse.Namespace, cache: Path) -> list[dict]:
    """Run ``world_size`` ranks of ``worker`` and return their JSON results."""
    threads = max(os.cpu_count() // world_size, 1)
    port, procs = free_port(), []
    for rank in range(world_size):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS=str(threads))
        command = [sys.executable, __file__, "--worker", str(cache), "--epochs", str(args.epochs),
                   "--batch-size", str(args.batch_size), "--threads", str(threads)]
        procs.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True,
                                      cwd=REPO))
    outputs = [proc.communicate(timeout=args.timeout)[0] for proc in procs]
    if any(proc.returncode for proc in procs):
        raise SystemExit(f"a rank of the {world_size}-process run failed")
    return [json.loads(out.strip().splitlines()[-1]) for out in outputs]


def worker(args: argparse.Namespace) -> None:
    """One rank: train the default MLP on the cache for ``epochs`` and time it."""
    import torch

    from textbatch.config import ModelConfig
    from textbatch.data.stream import BatchLoader, BatchStream
    from textbatch.features.cache import CacheSource
    from textbatch.models import build_model
    from textbatch.train import Trainer
    from textbatch.train.distributed import DistributedTrainer, setup

    torch.set_num_threads(args.threads)
    ctx = setup(device="cpu")
    source = CacheSource(args.worker)
    num_features = int(source.ids.max()) + 1 if len(source.ids) else 1
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="mlp", num_features=num_features, num_classes=2))
    if ctx.is_distributed:
        trainer = DistributedTrainer(model, 2, device="cpu", context=ctx)
        trainer.time_communication()
    else:
        trainer = Trainer(model, 2, device="cpu")
    stream = BatchStream(source, ctx.local_batch(args.batch_size), shuffle=True,
                         rank=ctx.rank, world_size=ctx.world_size, transform=source.gather)
    loader = BatchLoader(stream)
    start = time.perf_counter()
    trainer.fit(loader, loader.steps_per_epoch, epochs=args.epochs, verbose=0)
    seconds = time.perf_counter() - start
    comm = getattr(trainer, "comm_seconds", 0.0)
    print(json.dumps({"rank": ctx.rank, "seconds": seconds, "comm_seconds": comm,
                      "steps": trainer.global_step, "records": len(source) * args.epochs,
                      "loss": trainer.history.history["loss"][-1]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="a vectorized cache (default: synthetic)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    cache = args.cache or synthetic_cache(SYNTHETIC)
    rows = []
    for world_size in args.processes:
        results = launch(world_size, args, cache)
        seconds = max(r["seconds"] for r in results)
        comm = max(r["comm_seconds"] for r in results)
        records = results[0]["records"]
        rows.append([world_size, results[0]["steps"], round(seconds, 2), int(records / seconds),
                     f"{100 * comm / seconds:.1f}%", round(results[0]["loss"], 4)])
    print(f"cache: {cache} ({records // args.epochs:,} rows), global batch {args.batch_size}, "
          f"{args.epochs} epochs, {os.cpu_count()} cores")
    print_table(["processes", "steps", "train s", "records/s", "all-reduce share", "last loss"],
                rows)


if __name__ == "__main__":
    main()
