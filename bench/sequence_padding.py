"""Is sepCNN with per-batch padding, length buckets and masks as accurate as fixed padding?

    .venv/bin/python bench/sequence_padding.py [--baseline-src /tmp/base/src] [--seeds 0,1,2]
        [--data sst2,sms_spam,imdb]

Trains ``--model sepcnn`` (the CLI, defaults, early stopping) with this tree, bucketed and not
(``--no-bucket-by-length``), and optionally with an older tree whose sepCNN pads every batch to
the longest training sequence (e.g. ``git archive`` of main before issue 11, passed as
``--baseline-src``), in the same run, one after the other, for each of ``--seeds`` (the seed
also draws the validation split, so the means compare like with like), and prints validation
(and test) accuracy, epochs and records/s side by side, then the mean and spread per variant.
``--batch-size`` overrides both (the older tree's sepCNN default was 512). Figures, never
assertions.
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
from _common import REPO, SHARED_DATA, print_table  # noqa: E402

DATA = {
    "sst2": [str(SHARED_DATA / "sst2/stsa.binary.train"), "--val",
             str(SHARED_DATA / "sst2/stsa.binary.dev"), "--test",
             str(SHARED_DATA / "sst2/stsa.binary.test")],
    "sms_spam": [str(SHARED_DATA / "sms_spam/SMSSpamCollection"), "--format", "tsv"],
    "imdb": [str(SHARED_DATA / "imdb/train.csv.gz"), "--test",
             str(SHARED_DATA / "imdb/test.csv.gz")],
}


def train(src: Path, data: str, out: Path, extra: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src), TEXTBATCH_CACHE_DIR=str(out.parent / "cache"))
    cmd = [sys.executable, "-m", "textbatch", "train", *DATA[data], "--model", "sepcnn",
           "--out", str(out), "--overwrite", "--verbose", "0", *extra]
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    metrics = json.loads((out / "metrics.json").read_text())
    report = json.loads((out / "report.json").read_text())
    return {**metrics, "wall": time.perf_counter() - start,
            "records_per_second": report["records_per_second"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-src", type=Path, help="src/ of a tree before issue 11")
    parser.add_argument("--baseline-seeds", help="seeds for the baseline (default: --seeds)")
    parser.add_argument("--data", default="sst2,sms_spam", help="of: " + ",".join(DATA))
    parser.add_argument("--seeds", default="0", help="comma-separated --seed values")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--out", type=Path, default=Path("runs/sequence_padding"))
    args = parser.parse_args()
    extra = ["--batch-size", str(args.batch_size)] if args.batch_size else []
    seeds = [int(s) for s in args.seeds.split(",")]
    variants = {"per-batch + buckets + masks": (REPO / "src", [], seeds),
                "per-batch + masks, no buckets": (REPO / "src", ["--no-bucket-by-length"], seeds)}
    if args.baseline_src:
        base_seeds = [int(s) for s in (args.baseline_seeds or args.seeds).split(",")]
        variants["fixed (baseline)"] = (args.baseline_src, [], base_seeds)
    rows, summary = [], []
    for data in args.data.split(","):
        for name, (src, flags, runs) in variants.items():
            scores = []
            for seed in runs:
                load = os.getloadavg()[0]
                folder = args.out / data / f"{name.split(' ')[0]}{len(flags)}_{seed}"
                m = train(src, data, folder, [*extra, *flags, "--seed", str(seed)])
                scores.append(m["val_accuracy"])
                rows.append([data, name, seed, f"{m['val_accuracy']:.4f}",
                             f"{m['test_accuracy']:.4f}" if "test_accuracy" in m else "-",
                             f"{m['best_epoch']}/{m['epochs_run']}", m["records_per_second"],
                             m["wall"], f"{load:.1f}"])
                print(rows[-1], flush=True)
            mean = sum(scores) / len(scores)
            spread = (sum((x - mean) ** 2 for x in scores) / max(len(scores) - 1, 1)) ** 0.5
            summary.append([data, name, len(scores), f"{mean:.4f}", f"{spread:.4f}"])
    print_table(["data", "sepCNN padding", "seed", "val acc", "test acc", "best/run epochs",
                 "train records/s", "wall s", "load"], rows)
    print()
    print_table(["data", "sepCNN padding", "seeds", "mean val acc", "sd"], summary)


if __name__ == "__main__":
    main()
