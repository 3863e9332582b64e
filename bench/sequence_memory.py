"""Does a long sepCNN run's memory grow with its steps? Peak RSS of a bare training loop.

    .venv/bin/python bench/sequence_memory.py --data /tmp/az300k.csv.gz [--steps 500,2000,5000]
        [--variants "8:-,8:-:trim200,8:-:mmap2m-thp"]

Issue 11: the 3M-row sepCNN run peaked 17.6% above the 300k-row one, and a bare loop of steps
grew with the number of steps (oneDNN keeps primitives per input shape, up to
``ONEDNN_PRIMITIVE_CACHE_CAPACITY``). This vectorizes ``--data`` once (the guide's sequence
vectorizer, cached under ``--out``), then for each variant trains sepCNN (batch 128, Adam 1e-3,
dropout 0.2, bucketed batches, the Trainer's own CPU settings) for the largest of ``--steps``
in a fresh process and prints its peak RSS after each of ``--steps``, records/s, CPU seconds
and how many distinct batch widths it saw. A variant is ``PAD:CAP``: batches' padded lengths
rounded up to a multiple of PAD (1 = the batch's longest record, as before; 8 = this tree),
and CAP the ``ONEDNN_PRIMITIVE_CACHE_CAPACITY`` set in the child's environment ("-" = unset,
textbatch's default applies); an optional third part ALLOC sets how freed memory is handled:
``keep`` (default: ``train/allocator.py``, large tensors from glibc's heap and kept there),
``trim200`` (that, plus ``malloc_trim(0)`` every 200 steps), ``mmap2m`` (every block of 2 MiB
or more mapped and unmapped by glibc, ``TEXTBATCH_KEEP_FREED_MEMORY=0``) and ``mmap2m-thp``
(that, with torch's 2 MiB-aligned huge-page allocations, ``THP_MEM_ALLOC_ENABLE=1``).
Figures, never assertions.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import child_json, peak_rss_mib, print_table  # noqa: E402
from sequence_speed import BATCH, LENGTH, build_cache  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


ALLOCATORS = ("keep", "trim200", "mmap2m", "mmap2m-thp")


def allocator_env(alloc: str) -> dict[str, str]:
    """The child's environment additions for an ALLOC (set before torch is imported)."""
    if alloc not in ALLOCATORS:
        raise SystemExit(f"unknown ALLOC {alloc!r}; known: {', '.join(ALLOCATORS)}")
    from textbatch.train.allocator import OPT_OUT

    env = {OPT_OUT: "0"} if alloc.startswith("mmap") else {}
    return env | ({"THP_MEM_ALLOC_ENABLE": "1"} if alloc.endswith("thp") else {})


def measure(cache: Path, checkpoints: list[int], pad_multiple: int, alloc: str = "keep"
            ) -> dict:
    """Train ``max(checkpoints)`` steps; peak RSS (MiB) after each checkpoint step."""
    import torch

    import textbatch.features.batch as batch_module
    from textbatch.config import ModelConfig
    from textbatch.data.stream import BatchStream
    from textbatch.features.cache import CacheSource
    from textbatch.models import build_model
    from textbatch.train import Trainer
    from textbatch.train.allocator import M_MMAP_THRESHOLD

    batch_module.PAD_MULTIPLE = pad_multiple
    libc = ctypes.CDLL("libc.so.6")
    if alloc.startswith("mmap"):  # a fixed threshold also turns glibc's sliding one off
        libc.mallopt(M_MMAP_THRESHOLD, 2 << 20)
    torch.manual_seed(0)
    sizes = json.loads((cache / "sizes.json").read_text())
    config = ModelConfig(name="sepcnn", dropout_rate=0.2, num_features=sizes["num_features"],
                         num_classes=sizes["num_classes"])
    source = CacheSource(cache)
    stream = BatchStream(source, BATCH, seed=0, transform=source.gather, bucket_by_length=True)
    trainer = Trainer(build_model(config), config.num_classes, learning_rate=1e-3, device="cpu",
                      sequence_length=LENGTH)
    batches, widths, rss = iter(stream), set(), {}
    start, cpu = time.perf_counter(), cpu_seconds()
    for step in range(1, max(checkpoints) + 1):
        batch = next(batches)
        widths.add(batch.sequence_width(LENGTH))
        trainer.train_step(batch)
        if alloc == "trim200" and step % 200 == 0:
            libc.malloc_trim(0)
        if step in checkpoints:
            rss[step] = peak_rss_mib(include_children=False)
    seconds = time.perf_counter() - start
    return {"rss": rss, "records_per_second": max(checkpoints) * BATCH / seconds,
            "cpu_seconds": cpu_seconds() - cpu, "widths": len(widths),
            "cache_capacity": os.environ.get("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "-")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="the training file (required; e.g. "
                        "bench/corpus.py --source imdb_stars --lengths amazon)")
    parser.add_argument("--steps", default="500,2000,5000", help="checkpoints (comma-separated)")
    parser.add_argument("--variants", default="8:-,8:-:trim200,8:-:mmap2m-thp",
                        help="PAD:CAP[:ALLOC],... (see above)")
    parser.add_argument("--out", type=Path, default=Path("runs/sequence_memory"))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # cache, pad, alloc
    args = parser.parse_args()
    checkpoints = [int(s) for s in args.steps.split(",")]
    if args.child:
        print(json.dumps(measure(Path(args.child[0]), checkpoints, int(args.child[1]),
                                 args.child[2])))
        return
    if args.data is None:
        parser.error("--data is required")
    cache = build_cache(args.out / f"{args.data.name.split('.')[0]}_sequence", [str(args.data)])
    rows, load = [], [os.getloadavg()[0]]
    for variant in args.variants.split(","):
        pad, cap, alloc = (variant.split(":") + ["keep"])[:3]
        env = dict(os.environ) | allocator_env(alloc)
        env.pop("ONEDNN_PRIMITIVE_CACHE_CAPACITY", None)
        if cap != "-":
            env["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = cap
        result = child_json([__file__, "--steps", args.steps, "--child", str(cache), pad, alloc],
                            env)
        rows.append([pad, cap, alloc, result["widths"],
                     *(result["rss"][str(s)] for s in checkpoints),
                     result["records_per_second"], result["cpu_seconds"]])
        print(rows[-1], flush=True)
    load.append(os.getloadavg()[0])
    print_table(["pad multiple", "cache capacity", "allocator", "distinct widths",
                 *(f"peak RSS MiB @{s}" for s in checkpoints), "records/s", "CPU s"], rows)
    print(f"load average (1 min) at start / end: {load[0]:.1f} / {load[1]:.1f}")


if __name__ == "__main__":
    main()
