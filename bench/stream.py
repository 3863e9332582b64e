"""Records/s and peak memory of read + shuffle + batch through BatchStream, as data grows.

Runs every (corpus, num_workers) in a fresh subprocess, so each peak RSS is that configuration's
own high-water mark: the IMDB training CSV (25k rows) and generated corpora 10x and 100x its size
(``bench/corpus.py``, plain CSV under /tmp; generated on first use). Memory must not grow with the
data: the stream holds one shuffle window, the manifest a few numbers per block of 1,024 records.

    python bench/stream.py                       # IMDB, 10x, 100x; 0 and 2 workers
    python bench/stream.py --sizes 1 10 --workers 0

The transform sums each batch's text lengths, so every record is touched but the figures are the
data layer's own (vectorizing is measured by the feature benchmarks).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, SHARED_DATA, child_peak_rss_mib, peak_rss_mib, print_table  # noqa: E402

IMDB = SHARED_DATA / "imdb" / "train.csv.gz"
IMDB_ROWS = 25_000


def text_chars(records) -> int:
    """The benchmark's transform: touch every record, return one small number."""
    return sum(len(r.text) for r in records)


def corpus(size: int, tmp: Path) -> Path:
    """The data file for ``size`` x IMDB: the real file at 1, a generated CSV otherwise."""
    if size == 1:
        return IMDB
    path = tmp / f"tb_corpus_{size}x.csv"
    if not path.exists():
        print(f"generating {size * IMDB_ROWS:,} rows into {path} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(REPO / "bench" / "corpus.py"), "--rows",
                        str(size * IMDB_ROWS), "--out", str(path)], check=True)
    return path


def measure(path: str, num_workers: int, batch_size: int, shuffle_buffer: int) -> dict:
    """One configuration, in this (fresh) process: manifest, then one shuffled epoch."""
    from textbatch.config import ReadConfig
    from textbatch.data import BatchLoader, BatchStream, Manifest, TextSource

    start = time.perf_counter()
    manifest = Manifest.build([path], ReadConfig(), block_size=1024)
    manifest_s = time.perf_counter() - start
    stream = BatchStream(TextSource(manifest), batch_size, seed=0, shuffle_buffer=shuffle_buffer,
                         transform=text_chars, epochs=1)
    start = time.perf_counter()
    steps = sum(1 for _ in BatchLoader(stream, num_workers))
    seconds = time.perf_counter() - start
    return {"records": manifest.num_records(), "steps": steps, "manifest_s": manifest_s,
            "seconds": seconds, "rss_main": peak_rss_mib(include_children=False),
            "rss_worker": child_peak_rss_mib()}


def run_child(path: Path, num_workers: int, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", str(path), "--workers", str(num_workers),
               "--batch-size", str(args.batch_size), "--shuffle-buffer", str(args.shuffle_buffer)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--shuffle-buffer", type=int, default=16_384)
    parser.add_argument("--tmp", type=Path, default=Path("/tmp"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.workers[0], args.batch_size,
                                 args.shuffle_buffer)))
        return
    os.environ.setdefault("TEXTBATCH_CACHE_DIR", str(args.tmp / "tb_bench_cache"))
    rows = []
    for size in args.sizes:
        path = corpus(size, args.tmp)
        run_child(path, 0, args)  # warm the manifest cache: the table shows streaming alone
        for workers in args.workers:
            r = run_child(path, workers, args)
            rows.append([f"{size}x ({path.name})", workers, r["records"], r["steps"],
                         r["seconds"], r["records"] / r["seconds"], r["rss_main"],
                         r["rss_worker"] if workers else "-"])
            print(f"  {rows[-1]}", file=sys.stderr)
    print_table(["data", "workers", "records", "steps", "epoch s", "records/s",
                 "peak RSS main MiB", "peak RSS worker MiB"], rows)
    base = {r[1]: r[6] for r in rows if r[0].startswith(f"{args.sizes[0]}x")}
    for r in rows:
        if not r[0].startswith(f"{args.sizes[0]}x"):
            growth = 100 * (r[6] / base[r[1]] - 1)
            print(f"{r[0]}, {r[1]} workers: main peak RSS {growth:+.1f}% vs {args.sizes[0]}x")


if __name__ == "__main__":
    main()
