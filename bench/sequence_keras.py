"""textbatch's sepCNN vs the guide's Keras 3 sepCNN: records/s and validation accuracy per epoch.

    PYTHONPATH=src KERAS_BACKEND=torch .venv-bench/bin/python bench/sequence_keras.py \
        [--data imdb] [--epochs 2]

1. ``textbatch train DATA --model sepcnn --epochs E`` (the CLI, the guide's settings: 20,000
   words, length <= 500, embedding 200, batch 128, Adam 1e-3, dropout 0.2; validation on the
   stable-hash split), in a child process;
2. the guide's Keras model (``textbatch.keras.sepcnn_model``, torch backend) trained the guide's
   way on *that run's* train and validation caches — every record padded/cut to 500 at the front
   as the guide's ``pad_sequences``, batches of 128 in a fresh random order each epoch fed to
   ``train_on_batch`` (the guide's ``fit_generator`` loop), in a second child, same machine,
   one after the other.

Both see the same token ids, so the table compares the trainers: seconds and records/s per
epoch (Keras: its training steps; textbatch: history.csv, validation included) and validation
accuracy after each epoch (Keras: no validation loss, the column shows nan). Figures, never
assertions.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, child_json, print_table, run_child  # noqa: E402

DATA = {"imdb": [str(SHARED_DATA / "imdb/train.csv.gz")],
        "sst2": [str(SHARED_DATA / "sst2/stsa.binary.train"), "--val",
                 str(SHARED_DATA / "sst2/stsa.binary.dev")]}
LENGTH, BATCH = 500, 128


def padded_split(folder: Path):
    """All records of a cache split as the guide's input: int32 [n, 500] ids padded and cut at
    the front (``pad_sequences``' defaults), and their labels."""
    import numpy as np

    from textbatch.features.cache import CacheSource

    xs, ys = [], []
    for batch in CacheSource(folder).iter_chunks(4096):
        xs.append(batch.padded(LENGTH, "pre").astype(np.int32))
        ys.append(batch.labels)
    return np.concatenate(xs), np.concatenate(ys)


def keras_fit(run: Path, epochs: int, seed: int) -> list[dict]:
    """The guide's Keras sepCNN on ``run``'s caches: per-epoch seconds and validation accuracy."""
    import keras
    import numpy as np

    from textbatch.keras import sepcnn_model

    keras.utils.set_random_seed(seed)
    sizes = json.loads((run / "model" / "config.json").read_text())["run"]["model"]
    x_train, y_train = padded_split(run / "cache" / "train")
    x_val, y_val = padded_split(run / "cache" / "val")
    model = sepcnn_model(blocks=2, filters=64, kernel_size=3, embedding_dim=200,
                         dropout_rate=0.2, pool_size=3, input_shape=(LENGTH,),
                         num_classes=sizes["num_classes"], num_features=sizes["num_features"],
                         learning_rate=1e-3)
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(len(x_train))
        for first in range(0, len(order), BATCH):  # the guide's fit_generator, batch by batch
            picked = order[first:first + BATCH]
            model.train_on_batch(x_train[picked], y_train[picked])
        seconds = time.perf_counter() - start
        scores = np.concatenate([np.asarray(model.predict_on_batch(x_val[i:i + 512]))
                                 for i in range(0, len(x_val), 512)])
        predicted = (scores[:, 0] > 0.5) if scores.shape[1] == 1 else scores.argmax(axis=1)
        rows.append({"epoch": epoch, "seconds": seconds,
                     "records_per_second": len(x_train) / seconds,
                     "val_accuracy": float(np.mean(predicted == y_val)), "val_loss": float("nan")})
    return rows


def textbatch_fit(data: str, out: Path, epochs: int) -> list[dict]:
    """``textbatch train --model sepcnn`` for ``epochs`` epochs: its history.csv rows."""
    args = ["-m", "textbatch", "train", *DATA[data], "--model", "sepcnn", "--epochs",
            str(epochs), "--patience", str(epochs), "--out", str(out), "--overwrite",
            "--verbose", "0"]
    _, status, _, _ = run_child(args)
    if status:
        raise SystemExit(f"textbatch train failed (status {status})")
    with open(out / "history.csv", newline="") as handle:
        return [{"epoch": int(h["epoch"]) + 1, "seconds": float(h["seconds"]),
                 "records_per_second": float(h["records_per_second"]),
                 "val_accuracy": float(h["val_accuracy"]), "val_loss": float(h["val_loss"])}
                for h in csv.DictReader(handle)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=sorted(DATA), default="imdb")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/sequence_keras"))
    parser.add_argument("--keras-child", type=Path, help=argparse.SUPPRESS)  # the run folder
    args = parser.parse_args()
    if args.keras_child:
        print(json.dumps(keras_fit(args.keras_child, args.epochs, args.seed)))
        return
    load = [os.getloadavg()[0]]
    run = args.out / f"textbatch_{args.data}"
    ours = textbatch_fit(args.data, run, args.epochs)
    env = dict(os.environ, KERAS_BACKEND="torch")
    peer = child_json([__file__, "--keras-child", str(run), "--epochs", str(args.epochs),
                       "--seed", str(args.seed)], env)
    load.append(os.getloadavg()[0])
    rows = [[name, r["epoch"], r["seconds"], r["records_per_second"], f"{r['val_accuracy']:.4f}",
             f"{r['val_loss']:.4f}"]
            for name, history in (("textbatch sepcnn", ours), ("Keras 3 guide sepCNN", peer))
            for r in history]
    print_table(["trainer", "epoch", "s", "records/s", "val acc", "val loss"], rows)
    speed = [sum(r["records_per_second"] for r in h) / len(h) for h in (ours, peer)]
    print(f"textbatch / Keras records/s: {speed[0] / speed[1]:.1f}x; "
          f"load average (1 min) at start / end: {load[0]:.1f} / {load[1]:.1f}")


if __name__ == "__main__":
    main()
