"""Vectorizing out of core vs the floor and vs scikit-learn, one table (issue 3).

Rows: (a) floor = read + tokenize only; (b) fit time and peak RSS of each vectorizer; fit + cache
(fit_transform + write_cache, what ``textbatch vectorize`` runs); (c) records/s vectorizing on
the fly (read + transform); (d) records/s streaming shuffled batches from the cache; (e)
scikit-learn's in-memory TfidfVectorizer + SelectKBest. Every row runs in a fresh process so its
peak RSS is its own. Each row also gives the CPU seconds of the process and its children (a fit
may run worker processes) and the peak of their summed PSS, sampled every 20 ms.

    .venv/bin/python bench/vectorize.py                      # IMDB train (25k reviews)
    .venv/bin/python bench/vectorize.py --rows 3600000       # generated corpus (bench/corpus.py)
    .venv/bin/python bench/vectorize.py --workers 1          # the fit in one process
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import resource
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, peak_rss_mib, print_table  # noqa: E402

IMDB_TRAIN = SHARED_DATA / "imdb" / "train.csv.gz"
BATCH = 512
MODES = ["floor", "fit:ngram", "fit:sequence", "fit:hashed", "fitcache:ngram",
         "onthefly:ngram", "onthefly:sequence", "onthefly:hashed", "cache:ngram", "sklearn"]


def _chunks(path: str, chunk_size: int = 4096):
    from textbatch.config import ReadConfig
    from textbatch.data import Manifest, TextSource
    from textbatch.data.chunked import record_chunks

    manifest = Manifest.build([path], ReadConfig(), 1024)
    return record_chunks(TextSource(manifest), manifest.classes, chunk_size), manifest


BUDGET_ENV = "TEXTBATCH_BENCH_MAX_COUNTED_NGRAMS"  # the parent's --max-counted-ngrams, to children


def _config(kind: str):
    from textbatch.config import VectorizeConfig

    budget = int(os.environ.get(BUDGET_ENV, VectorizeConfig().max_counted_ngrams))
    return VectorizeConfig(kind=kind, max_counted_ngrams=budget)


def _vectorizer(kind: str):
    from textbatch.features import make_vectorizer

    return make_vectorizer(_config(kind))


def cpu_seconds() -> float:
    """User + system CPU of this process and its waited-for children (pool workers)."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                         resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class TreePss:
    """Peak of the summed PSS of this process and its descendants, sampled every 20 ms: with
    worker processes, ``ru_maxrss`` only knows the largest single process, and summing RSS
    would count the pages forked workers still share with the parent once per process (PSS
    splits each shared page between its sharers, so the sum is the memory the tree uses)."""

    def __init__(self, interval: float = 0.02) -> None:
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.peak = max(self.peak, _tree_pss(os.getpid()))

    def stop(self) -> float:
        """Stop sampling; the peak in MiB."""
        self._stop.set()
        self._thread.join()
        return self.peak / 2**20


def _tree_pss(pid: int) -> int:
    """PSS bytes of ``pid`` and all its descendants (Linux /proc; 0 where unreadable)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as handle:
                total += next(int(line.split()[1]) * 1024 for line in handle
                              if line.startswith("Pss:"))
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    pending += [int(child) for child in handle.read().split()]
        except (OSError, ValueError, StopIteration):
            continue
    return total


_CPU_AT_START = [0.0]


def _start() -> float:
    """Start the clock of a measurement: wall (returned) and CPU (kept), over the same span."""
    _CPU_AT_START[0] = cpu_seconds()
    return time.perf_counter()


def run_child(mode: str, path: str, work: Path) -> dict:
    """One measurement in this (fresh) process, with its CPU seconds and summed peak PSS."""
    tree = TreePss()
    result = _measure_here(mode, path, work)
    result["cpu_seconds"] = cpu_seconds() - _CPU_AT_START[0]
    result["tree_peak_pss_mib"] = tree.stop()
    return result


def _measure_here(mode: str, path: str, work: Path) -> dict:
    from textbatch.data import TextSource

    open_chunks, manifest = _chunks(path)
    n = manifest.num_records()
    kind = mode.partition(":")[2]
    start = _start()
    if mode == "floor":
        from textbatch.features.counting import TokenTable
        from textbatch.text.analyzer import Analyzer

        analyzer, table = Analyzer(), TokenTable()
        for texts, _ in open_chunks():
            analyzer.encode(texts, table.intern)
    elif mode.startswith("fit:"):  # the pipeline's fit (n-gram: in worker processes)
        from textbatch.pipeline.vectorize import fit_vectorizer

        fit_vectorizer(TextSource(manifest), manifest.classes, _config(kind))
    elif mode.startswith("fitcache:"):  # what fit_and_cache does, less saving the vectorizer
        from textbatch.pipeline.vectorize import fit_to_cache

        fit_to_cache(TextSource(manifest), manifest.classes, _config(kind), work / "cache",
                     {"bench": kind}, 1024, work)
    elif mode.startswith("onthefly:"):
        vectorizer = _vectorizer(kind).fit(_chunks(path, 4096)[0])
        start = _start()
        for texts, _ in _chunks(path, BATCH)[0]():
            vectorizer.transform(texts)
    elif mode.startswith("cache:"):
        return _stream_cache(work / "cache", n)
    elif mode == "sklearn":
        return _sklearn(open_chunks, n)
    return {"seconds": time.perf_counter() - start, "records": n, "peak_rss_mib": peak_rss_mib()}


def _stream_cache(directory: Path, n: int) -> dict:
    """Records/s of what training does: one shuffled epoch of BatchStream over the cache (blocks
    permuted, rows permuted within ~16k-row windows), gathered and turned into tensors."""
    from textbatch.data.stream import BatchStream
    from textbatch.features.cache import CacheSource

    source = CacheSource(directory)
    stream = BatchStream(source, BATCH, shuffle=True, seed=0, shuffle_buffer=16_384,
                         transform=source.gather, epochs=3)
    start = _start()
    for batch in stream:
        batch.to_tensors()
    return {"seconds": (time.perf_counter() - start) / 3, "records": n,
            "peak_rss_mib": peak_rss_mib()}


def _sklearn(open_chunks, n: int) -> dict:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.feature_selection import SelectKBest, f_classif

    texts, labels = [], []
    start = _start()
    for chunk_texts, chunk_labels in open_chunks():
        texts += chunk_texts
        labels.append(chunk_labels)
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, strip_accents="unicode",
                            decode_error="replace", dtype=np.float32)
    x = tfidf.fit_transform(texts)
    SelectKBest(f_classif, k=min(20_000, x.shape[1])).fit(x, np.concatenate(labels))
    return {"seconds": time.perf_counter() - start, "records": n, "peak_rss_mib": peak_rss_mib()}


def measure(mode: str, path: str, work: Path, budget: int | None = None,
            workers: int | None = None) -> dict:
    env = {**os.environ, **({BUDGET_ENV: str(budget)} if budget else {}),
           **({"TEXTBATCH_FIT_WORKERS": str(workers)} if workers else {})}
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--data", path,
                          "--work", str(work)], capture_output=True, text=True, env=env)
    if out.returncode:
        raise SystemExit(f"{mode} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(IMDB_TRAIN), help="a CSV (Zhang) training file")
    parser.add_argument("--rows", type=int, default=0, help="generate a corpus of this many rows")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--max-counted-ngrams", type=int, default=None,
                        help="counting budget of the fits (default: VectorizeConfig's)")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes of the n-gram fit and transform passes (default: the "
                             "library's, from the CPUs; 1: one process)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--work", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args.child, args.data, Path(args.work))))
        return
    with tempfile.TemporaryDirectory(prefix="bench-vectorize-") as work:
        data = args.data
        if args.rows:
            data = str(Path(work) / f"corpus_{args.rows}.csv")
            subprocess.run([sys.executable, str(Path(__file__).parent / "corpus.py"), "--rows",
                            str(args.rows), "--out", data], check=True)
        results = {mode: measure(mode, data, Path(work), args.max_counted_ngrams, args.workers)
                   for mode in args.modes.split(",")}
    floor = results.get("floor", {}).get("seconds")
    rows = []
    for mode, r in results.items():
        ratio = f"{r['seconds'] / floor:.2f}x" if floor else "-"
        rows.append([mode, r["records"], round(r["seconds"], 2), ratio,
                     round(r["cpu_seconds"], 2), int(r["records"] / r["seconds"]),
                     round(r["peak_rss_mib"], 1), round(r["tree_peak_pss_mib"], 1)])
    print(f"data: {data}")
    print_table(["step", "records", "seconds", "x floor", "CPU s", "records/s", "peak RSS MiB",
                 "peak PSS + children MiB"], rows)


if __name__ == "__main__":
    main()
