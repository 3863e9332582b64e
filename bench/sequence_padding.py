"""Is sepCNN with per-batch padding, length buckets and masks as accurate as fixed padding?

    .venv/bin/python bench/sequence_padding.py [--baseline-src /tmp/base/src] [--seeds 0,1,2]
        [--data sst2,sms_spam,imdb] [--band-ratios 1.1,2.0] [--no-unbucketed]

Trains ``--model sepcnn`` (the CLI, defaults, early stopping) with this tree, bucketed and not
(``--no-bucket-by-length``), and optionally with an older tree whose sepCNN pads every batch to
the longest training sequence (e.g. ``git archive`` of main before issue 11, passed as
``--baseline-src``), in the same run, one after the other, for each of ``--seeds`` (the seed
also draws the validation split, so the means compare like with like), and prints validation
(and test) accuracy, epochs and records/s side by side, then the mean and spread per variant.
``--batch-size`` overrides both (the older tree's sepCNN default was 512). ``--band-ratios``
runs the bucketed variant once per ``plan.LENGTH_BAND_RATIO`` given (set in the child process;
default: the tree's own), to choose the bands on validation accuracy. Figures, never assertions.
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


# The CLI with ``plan.LENGTH_BAND_RATIO`` set to argv[1] first (a bench knob, not a flag).
WITH_BAND_RATIO = ("import runpy, sys; import textbatch.data.plan as plan; "
                   "plan.LENGTH_BAND_RATIO = float(sys.argv.pop(1)); "
                   "runpy.run_module('textbatch', run_name='__main__', alter_sys=True)")


def train(src: Path, data: str, out: Path, extra: list[str], band_ratio: float | None = None
          ) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src), TEXTBATCH_CACHE_DIR=str(out.parent / "cache"))
    launch = (["-m", "textbatch"] if band_ratio is None
              else ["-c", WITH_BAND_RATIO, str(band_ratio)])
    cmd = [sys.executable, *launch, "train", *DATA[data], "--model", "sepcnn",
           "--out", str(out), "--overwrite", "--verbose", "0", *extra]
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    metrics = json.loads((out / "metrics.json").read_text())
    report = json.loads((out / "report.json").read_text())
    return {**metrics, "wall": time.perf_counter() - start,
            "records_per_second": report["records_per_second"],
            "train_cpu": report.get("cpu_seconds", {}).get("train", float("nan"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-src", type=Path, help="src/ of a tree before issue 11")
    parser.add_argument("--baseline-seeds", help="seeds for the baseline (default: --seeds)")
    parser.add_argument("--data", default="sst2,sms_spam", help="of: " + ",".join(DATA))
    parser.add_argument("--seeds", default="0", help="comma-separated --seed values")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--band-ratios", help="comma-separated LENGTH_BAND_RATIO values for "
                        "the bucketed variant (default: the tree's)")
    parser.add_argument("--no-unbucketed", action="store_true",
                        help="skip the --no-bucket-by-length variant")
    parser.add_argument("--out", type=Path, default=Path("runs/sequence_padding"))
    args = parser.parse_args()
    extra = ["--batch-size", str(args.batch_size)] if args.batch_size else []
    seeds = [int(s) for s in args.seeds.split(",")]
    variants: dict[str, tuple[Path, list[str], list[int], float | None]] = {}
    for ratio in (args.band_ratios.split(",") if args.band_ratios else [None]):
        name = "per-batch + buckets + masks" + (f", band ratio {ratio}" if ratio else "")
        variants[name] = (REPO / "src", [], seeds, None if ratio is None else float(ratio))
    if not args.no_unbucketed:
        variants["per-batch + masks, no buckets"] = (REPO / "src", ["--no-bucket-by-length"],
                                                     seeds, None)
    if args.baseline_src:
        base_seeds = [int(s) for s in (args.baseline_seeds or args.seeds).split(",")]
        variants["fixed (baseline)"] = (args.baseline_src, [], base_seeds, None)
    rows, summary = [], []
    for data in args.data.split(","):
        for name, (src, flags, runs, ratio) in variants.items():
            scores = []
            for seed in runs:
                load = os.getloadavg()[0]
                tag = f"{name.split(' ')[0]}{len(flags)}" + (f"_r{ratio}" if ratio else "")
                m = train(src, data, args.out / data / f"{tag}_{seed}",
                          [*extra, *flags, "--seed", str(seed)], ratio)
                scores.append(m["val_accuracy"])
                rows.append([data, name, seed, f"{m['val_accuracy']:.4f}",
                             f"{m['test_accuracy']:.4f}" if "test_accuracy" in m else "-",
                             f"{m['best_epoch']}/{m['epochs_run']}", m["records_per_second"],
                             m["train_cpu"], m["wall"], f"{load:.1f}"])
                print(rows[-1], flush=True)
            mean = sum(scores) / len(scores)
            spread = (sum((x - mean) ** 2 for x in scores) / max(len(scores) - 1, 1)) ** 0.5
            summary.append([data, name, len(scores), f"{mean:.4f}", f"{spread:.4f}"])
    print_table(["data", "sepCNN padding", "seed", "val acc", "test acc", "best/run epochs",
                 "train records/s", "train CPU s", "wall s", "load"], rows)
    print()
    print_table(["data", "sepCNN padding", "seeds", "mean val acc", "sd"], summary)


if __name__ == "__main__":
    main()
