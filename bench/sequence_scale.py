"""The guide's batch-training run at its own scale: sepCNN on an Amazon-Full-sized corpus.

    .venv/bin/python bench/sequence_scale.py [--rows 3000000] [--small-rows 300000] [--epochs 1]
        [--models sepcnn,mlp] [--mlp-epochs 3] [--keras-steps 10]

The guide's ``batch_train_sequence_model.py`` trains sepCNN (embedding 200, 20,000 words,
length <= 500, batch 128, Adam 1e-3) on Amazon Reviews Full: 3,000,000 reviews, 5 classes. This
writes a corpus of that shape from real review text (``bench/corpus.py --source imdb_stars
--lengths amazon``: 5 star classes, ~75 words at the median) and a held-out test file of the
25,000 real IMDB *test* reviews cut to the same lengths (``--split test``: never resampled, never
seen in training), then, each in a fresh process so peak RSS is its own:

1. ``textbatch train CORPUS --model M --epochs E --test HELD_OUT`` for each of ``--models`` at
   both sizes: the product's own run, with its vectorize, cache and train seconds, whole-epoch
   seconds and records/s (history.csv), peak RSS, validation and held-out test accuracy
   (report.json, metrics.json). ``--models sepcnn,mlp`` answers "does the rule's choice pay?":
   the S/W rule picks sepCNN for this corpus; the MLP row shows what the same machine does with
   the n-gram model in the same run;
2. the guide's Keras 3 sepCNN (torch backend, ``textbatch.keras.sepcnn_model``, batches padded
   to 500 as the guide's ``pad_sequences``): ``--keras-steps`` optimizer steps on the large run's
   cache, records/s projected to an epoch (labelled as a projection).

Figures, never assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import child_json, print_table  # noqa: E402

BATCH, LENGTH = 128, 500


def corpus(work: Path, rows: int) -> Path:
    import corpus as make

    path = work / f"amazon_full_like_{rows}.csv.gz"
    if not path.exists():
        make.write(path, rows, 0, "imdb_stars", "amazon")
    return path


def keras_train(cache: Path, steps: int) -> dict:
    """records/s of the guide's Keras sepCNN on batches of a textbatch run's training cache
    (``RUN/cache/train``), padded to 500."""
    import numpy as np

    from textbatch.data.stream import BatchStream
    from textbatch.features.cache import CacheSource
    from textbatch.keras import sepcnn_model

    from _common import peak_rss_mib

    import keras

    run = cache.parent.parent  # the textbatch run whose cache this is: its model's sizes
    sizes = json.loads((run / "model" / "config.json").read_text())["run"]["model"]
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


def cli_run(model: str, data: Path, test: Path, out: Path, epochs: int) -> dict:
    """``textbatch train`` in a child process; its report, metrics and per-epoch history."""
    import csv

    from _common import run_child as run_python

    args = ["-m", "textbatch", "train", str(data), "--test", str(test), "--model", model,
            "--epochs", str(epochs), "--out", str(out), "--overwrite", "--verbose", "2"]
    output, status, usage, wall = run_python(args)
    if status:
        raise SystemExit(f"textbatch train {model} on {data} failed (status {status})")
    report = json.loads((out / "report.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    with open(out / "history.csv", newline="") as handle:
        history = list(csv.DictReader(handle))
    return {"wall": wall, "report": report, "metrics": metrics, "history": history,
            "peak_rss_mib": usage.ru_maxrss / 1024}


def cli_row(n: int, model: str, run: dict) -> list:
    """One table row of a CLI run: phases, epoch speed, memory and accuracy."""
    seconds, history = run["report"]["seconds"], run["history"]
    epoch_s = [float(h["seconds"]) for h in history if h.get("seconds")]
    train_rows = run["report"]["num_records"]["train"]
    return [f"{n:,}", f"textbatch {model}", seconds["vectorize"] + seconds["cache"],
            seconds["train"], len(history), min(epoch_s) if epoch_s else "-",
            train_rows / min(epoch_s) if epoch_s else "-", run["peak_rss_mib"],
            _accuracy(run["metrics"], "val_accuracy"), _accuracy(run["metrics"], "test_accuracy"),
            run["wall"]]


def _accuracy(metrics: dict, key: str) -> str:
    return f"{metrics[key]:.4f}" if key in metrics else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--small-rows", type=int, default=300_000, help="0: skip")
    parser.add_argument("--epochs", type=int, default=1, help="epochs of each textbatch run")
    parser.add_argument("--models", default="sepcnn", help="comma-separated: sepcnn,mlp")
    parser.add_argument("--mlp-epochs", type=int, help="epochs of the mlp runs (default --epochs)")
    parser.add_argument("--keras-steps", type=int, default=10, help="0: skip the Keras peer")
    parser.add_argument("--work", type=Path, default=Path("runs/sequence_scale"))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # kind, path, cache
    args = parser.parse_args()
    if args.child:
        kind, _, cache = args.child
        print(json.dumps(keras_train(Path(cache), args.keras_steps)))
        return
    import corpus as make

    args.work.mkdir(parents=True, exist_ok=True)
    test = args.work / "held_out_test.csv.gz"
    if not test.exists():
        make.write(test, 25_000, 0, "imdb_stars", "amazon", split="test")
    rows, load = [], [os.getloadavg()[0]]
    sizes = [n for n in (args.small_rows, args.rows) if n]
    for n in sizes:
        data = corpus(args.work, n)
        for model in args.models.split(","):
            epochs = args.mlp_epochs if model == "mlp" and args.mlp_epochs else args.epochs
            run = cli_run(model, data, test, args.work / f"{model}_{n}", epochs)
            rows.append(cli_row(n, model, run))
            print(rows[-1], flush=True)
    if args.keras_steps:
        cache = args.work / f"sepcnn_{sizes[-1]}" / "cache" / "train"
        env = dict(os.environ, KERAS_BACKEND="torch")
        peer = child_json([__file__, "--keras-steps", str(args.keras_steps), "--child",
                           "keras", "-", str(cache)], env)
        train_rows = json.loads((cache / "manifest.json").read_text())["num_records"]
        rows.append([f"{sizes[-1]:,}", "Keras 3 guide sepCNN (torch), projected", "-", "-", "-",
                     train_rows / peer["records_per_second"], peer["records_per_second"],
                     peer["peak_rss_mib"], "-", "-", "-"])
    load.append(os.getloadavg()[0])
    print_table(["rows", "trainer", "vectorize+cache s", "train s", "epochs", "epoch s",
                 "train records/s", "peak RSS MiB", "val acc", "held-out test acc", "wall s"],
                rows)
    print(f"Keras: {args.keras_steps} timed steps projected to an epoch; "
          f"load average (1 min) at start / end: {load[0]:.1f} / {load[1]:.1f}")


if __name__ == "__main__":
    main()
