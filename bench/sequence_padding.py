"""Is sepCNN with per-batch padding, length buckets and masks as accurate as fixed padding?

    .venv/bin/python bench/sequence_padding.py --baseline-src /tmp/main/src [--data sst2,sms_spam]

Trains ``--model sepcnn`` (the CLI, defaults, early stopping) with this tree and with an older
tree whose sepCNN pads every batch to the longest training sequence (e.g. ``git archive`` of
main before issue 11, passed as ``--baseline-src``), in the same run, one after the other, and
prints validation (and test) accuracy, epochs and records/s side by side. ``--batch-size``
overrides both (the older tree's sepCNN default was 512). Figures, never assertions.
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
    parser.add_argument("--baseline-src", type=Path, required=True)
    parser.add_argument("--data", default="sst2,sms_spam", help="of: " + ",".join(DATA))
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--out", type=Path, default=Path("runs/sequence_padding"))
    args = parser.parse_args()
    extra = ["--batch-size", str(args.batch_size)] if args.batch_size else []
    trees = {"per-batch + buckets + masks": REPO / "src", "fixed (baseline)": args.baseline_src}
    rows = []
    for data in args.data.split(","):
        for name, src in trees.items():
            load = os.getloadavg()[0]
            m = train(src, data, args.out / data / name.split(" ")[0], extra)
            rows.append([data, name, f"{m['val_accuracy']:.4f}",
                         f"{m['test_accuracy']:.4f}" if "test_accuracy" in m else "-",
                         f"{m['best_epoch']}/{m['epochs_run']}", m["records_per_second"],
                         m["wall"], f"{load:.1f}"])
            print(rows[-1], flush=True)
    print_table(["data", "sepCNN padding", "val acc", "test acc", "best/run epochs",
                 "train records/s", "wall s", "load"], rows)


if __name__ == "__main__":
    main()
