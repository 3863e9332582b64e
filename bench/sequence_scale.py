"""The guide's batch-training run at its own scale: sepCNN on an Amazon-Full-sized corpus.

    .venv/bin/python bench/sequence_scale.py [--rows 3000000] [--small-rows 300000] [--steps 30]

The guide's ``batch_train_sequence_model.py`` trains sepCNN (embedding 200, 20,000 words,
length <= 500, batch 128, Adam 1e-3) on Amazon Reviews Full: 3,000,000 reviews, 5 classes. This
writes a corpus of that shape from real review text (``bench/corpus.py --source imdb_stars
--lengths amazon``: 5 star classes, ~75 words at the median), then, each in a fresh process so
peak RSS is its own:

1. vectorize: the guide's sequence vectorizer fitted and the cache written (seconds, records/s,
   peak RSS);
2. train: ``--steps`` optimizer steps of textbatch's sepCNN (length-bucketed batches padded to
   their own longest record) after 2 warm-up steps: records/s, and the epoch and 10-epoch times
   **projected** from it (a full 3M-row epoch does not fit a shared 2-core machine's session);
3. the same for the guide's Keras 3 sepCNN (torch backend, ``textbatch.keras.sepcnn_model``,
   batches padded to 500 as the guide's ``pad_sequences``) on the same cache.

Run with ``--small-rows`` too, to compare peak RSS at 10x fewer rows. Figures, never assertions.
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
from _common import print_table  # noqa: E402

BATCH, LENGTH = 128, 500


def corpus(work: Path, rows: int) -> Path:
    import corpus as make

    path = work / f"amazon_full_like_{rows}.csv.gz"
    if not path.exists():
        make.write(path, rows, 0, "imdb_stars", "amazon")
    return path


def run_child(args: list[str], env: dict | None = None) -> dict:
    """One measurement in a fresh process (so its peak RSS is its own): its JSON line."""
    done = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True,
                          text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def vectorize(data: Path, cache: Path) -> dict:
    from sequence_speed import build_cache

    from _common import peak_rss_mib

    start = time.perf_counter()
    build_cache(cache, [str(data)])
    seconds = time.perf_counter() - start
    rows = json.loads((cache / "manifest.json").read_text())["num_records"]
    return {"seconds": seconds, "records": rows, "records_per_second": rows / seconds,
            "peak_rss_mib": peak_rss_mib(include_children=False)}


def train(cache: Path, steps: int) -> dict:
    from sequence_speed import measure

    from _common import peak_rss_mib

    out = measure(cache, "bucketed", steps)
    out["peak_rss_mib"] = peak_rss_mib(include_children=False)
    return out


def keras_train(cache: Path, steps: int) -> dict:
    """records/s of the guide's Keras sepCNN on batches of the same cache, padded to 500."""
    import numpy as np

    from textbatch.data.stream import BatchStream
    from textbatch.features.cache import CacheSource
    from textbatch.keras import sepcnn_model

    from _common import peak_rss_mib

    import keras

    sizes = json.loads((cache / "sizes.json").read_text())
    model = sepcnn_model(blocks=2, filters=64, kernel_size=3, embedding_dim=200,
                         dropout_rate=0.2, pool_size=3, input_shape=(LENGTH,),
                         num_classes=sizes["num_classes"], num_features=sizes["num_features"])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["acc"])
    source = CacheSource(cache)
    batches = iter(BatchStream(source, BATCH, seed=0, transform=source.gather))
    for step in range(steps + 2):
        batch = next(batches)
        x, y = batch.padded(LENGTH, "pre").astype(np.int32), batch.labels
        if step == 2:
            start = time.perf_counter()
        model.train_on_batch(x, y)
    seconds = time.perf_counter() - start
    return {"records_per_second": steps * BATCH / seconds, "seconds": seconds,
            "peak_rss_mib": peak_rss_mib(include_children=False)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--small-rows", type=int, default=300_000, help="0: skip")
    parser.add_argument("--steps", type=int, default=30, help="timed training steps per run")
    parser.add_argument("--keras-steps", type=int, default=10, help="0: skip the Keras peer")
    parser.add_argument("--epochs", type=int, default=10, help="for the projected run time")
    parser.add_argument("--work", type=Path, default=Path("runs/sequence_scale"))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # kind, path, cache
    args = parser.parse_args()
    if args.child:
        kind, data, cache = args.child
        jobs = {"vectorize": lambda: vectorize(Path(data), Path(cache)),
                "train": lambda: train(Path(cache), args.steps),
                "keras": lambda: keras_train(Path(cache), args.keras_steps)}
        print(json.dumps(jobs[kind]()))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    rows, load = [], [os.getloadavg()[0]]
    sizes = [n for n in (args.small_rows, args.rows) if n]
    for n in sizes:
        start = time.perf_counter()
        data = corpus(args.work, n)
        made = time.perf_counter() - start
        cache = args.work / f"cache_{n}"
        vec = run_child(["--child", "vectorize", str(data), str(cache)])
        fit = run_child(["--steps", str(args.steps), "--child", "train", str(data), str(cache)])
        epoch = n / fit["records_per_second"]
        rows.append([f"{n:,}", "textbatch sepCNN", f"{made:.0f}", f"{vec['seconds']:.0f}",
                     vec["records_per_second"], vec["peak_rss_mib"], fit["records_per_second"],
                     fit["mean_padded_length"], fit["peak_rss_mib"], f"{epoch / 60:.1f}",
                     f"{args.epochs * epoch / 3600:.1f}"])
        print(rows[-1], flush=True)
    if args.keras_steps:
        env = dict(os.environ, KERAS_BACKEND="torch")
        peer = run_child(["--keras-steps", str(args.keras_steps), "--child", "keras", "-",
                          str(args.work / f"cache_{sizes[-1]}")], env)
        epoch = sizes[-1] / peer["records_per_second"]
        rows.append([f"{sizes[-1]:,}", "Keras 3 guide sepCNN (torch)", "-", "-", "-", "-",
                     peer["records_per_second"], LENGTH, peer["peak_rss_mib"],
                     f"{epoch / 60:.1f}", f"{args.epochs * epoch / 3600:.1f}"])
    load.append(os.getloadavg()[0])
    print_table(["rows", "trainer", "corpus s", "vectorize s", "vectorize records/s",
                 "vectorize peak RSS MiB", "train records/s", "mean padded length",
                 "train peak RSS MiB", "projected epoch min", f"projected {args.epochs} epochs h"],
                rows)
    print(f"training figures: {args.steps} timed steps (Keras: {args.keras_steps}) projected to "
          f"whole epochs; load average (1 min) at start / end: {load[0]:.1f} / {load[1]:.1f}")


if __name__ == "__main__":
    main()
