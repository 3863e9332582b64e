"""sepCNN training speed on IMDB: records/s of the guide's model, this tree vs an older one.

    .venv/bin/python bench/sequence_speed.py [--steps 20] [--baseline-src /tmp/main/src]

Vectorizes IMDB's training reviews once (the guide's sequence vectorizer: 20,000 words, length
<= 500) and times ``--steps`` optimizer steps (batch 128, Adam 1e-3, dropout 0.2, after 2
warm-up steps) of each way of feeding sepCNN:

* ``bucketed``: this tree's default, batches of similar-length records (``bucket_by_length``)
  padded to their own longest record;
* ``shuffled``: batches padded to their own longest record, no bucketing;
* ``fixed 500``: every batch padded to 500, as before issue 11;
* ``baseline``: ``fixed 500`` with the model and trainer of ``--baseline-src`` (e.g. an export
  of main before issue 11), in a subprocess of the same run.

Prints records/s, mean padded length and the load average. Figures, never assertions.
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
from _common import SHARED_DATA, print_table  # noqa: E402

BATCH, LENGTH = 128, 500


def build_cache(folder: Path, inputs: list[str] | None = None) -> Path:
    """``inputs`` (default IMDB train) as a sequence cache (the guide's vectorizer fitted, rows
    written in the same pass), reused when present."""
    from textbatch.config import ReadConfig, RunConfig, VectorizeConfig
    from textbatch.features import make_vectorizer
    from textbatch.features.cache import write_cache
    from textbatch.data.chunked import record_chunks
    from textbatch.pipeline.sources import make_splits

    if (folder / "manifest.json").is_file():
        return folder
    config = RunConfig(read=ReadConfig(), vectorize=VectorizeConfig(kind="sequence",
                                                                    top_k=20_000))
    inputs = inputs or [str(SHARED_DATA / "imdb" / "train.csv.gz")]
    splits, labels, _ = make_splits(inputs, [], [], config)
    vectorizer = make_vectorizer(config.vectorize)
    rows = vectorizer.fit_transform(record_chunks(splits["train"].source, labels, 4096),
                                    spill_dir=folder.parent, chunk_size=4096)
    write_cache(folder, rows, {"bench": "sequence_speed"}, 1024)
    sizes = {"num_features": int(vectorizer.num_features), "num_classes": len(labels)}
    (folder / "sizes.json").write_text(json.dumps(sizes))
    return folder


def measure(cache: Path, mode: str, steps: int) -> dict:
    """Records/s of ``steps`` training steps fed the ``mode`` way (in this process's code)."""
    import torch

    from textbatch.config import ModelConfig
    from textbatch.data.stream import BatchStream
    from textbatch.features.cache import CacheSource
    from textbatch.models import build_model
    from textbatch.train import Trainer

    torch.manual_seed(0)
    sizes = json.loads((cache / "sizes.json").read_text())
    config = ModelConfig(name="sepcnn", dropout_rate=0.2, num_features=sizes["num_features"],
                         num_classes=sizes["num_classes"])
    source = CacheSource(cache)
    bucketed = {"bucket_by_length": True} if mode == "bucketed" else {}  # older trees lack it
    stream = BatchStream(source, BATCH, seed=0, transform=source.gather, **bucketed)
    fixed = mode in ("fixed 500", "baseline")
    trainer = Trainer(build_model(config), config.num_classes, learning_rate=1e-3, device="cpu",
                      sequence_length=None if fixed else LENGTH)
    batches = iter(stream)
    positions = 0
    for step in range(steps + 2):
        batch = next(batches)
        if fixed:
            tokens = torch.from_numpy(batch.padded(LENGTH, "pre"))
            item = ({"tokens": tokens}, torch.from_numpy(batch.labels))
        else:
            item = batch
            tokens = batch.to_tensors(LENGTH)[0]["tokens"]
        if step == 2:
            start = time.perf_counter()
        if step >= 2:
            positions += tokens.numel()
        trainer.train_step(item)
    seconds = time.perf_counter() - start
    return {"mode": mode, "records_per_second": steps * BATCH / seconds,
            "mean_padded_length": positions / (steps * BATCH), "seconds": seconds,
            "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("runs/sequence_speed"))
    parser.add_argument("--baseline-src", type=Path, help="src/ of an older textbatch")
    parser.add_argument("--modes", default="bucketed,shuffled,fixed 500")
    parser.add_argument("--only", help=argparse.SUPPRESS)  # one mode, JSON out (subprocess)
    args = parser.parse_args()
    cache = args.out / "imdb_train_sequence"
    if args.only:
        print(json.dumps(measure(cache, args.only, args.steps)))
        return
    build_cache(cache)
    load = [os.getloadavg()[0]]
    rows = [measure(cache, mode, args.steps) for mode in args.modes.split(",")]
    if args.baseline_src:
        env = dict(os.environ, PYTHONPATH=str(args.baseline_src))
        done = subprocess.run([sys.executable, __file__, "--only", "baseline", "--steps",
                               str(args.steps), "--out", str(args.out)], env=env, check=True,
                              capture_output=True, text=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    load.append(os.getloadavg()[0])
    print_table(["IMDB sepCNN feed", "records/s", "mean padded length", "s", "threads"],
                [[r["mode"], r["records_per_second"], r["mean_padded_length"], r["seconds"],
                  r["threads"]] for r in rows])
    print(f"load average (1 min) at start / end: {load[0]:.1f} / {load[1]:.1f}")


if __name__ == "__main__":
    main()
