"""Accuracy of every textbatch model on real data sets, one table (figures, never assertions).

    .venv/bin/python bench/accuracy.py [--models mlp,sepcnn,ngram-bag] [--out runs/bench]

IMDB: train on train.csv.gz (validation carved by stable hash), score test.csv.gz.
SST-2: train / dev (validation) / test files of Kim (2014). SMS spam: one file, so its test set is
a stable-hash split too (validation = 10% of the rest). Defaults everywhere except the model.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from textbatch.config import ReadConfig, RunConfig
from textbatch.pipeline import TrainRequest, train

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def datasets() -> dict[str, dict]:
    sms_read = ReadConfig(format="tsv", label_column=0, text_columns=(1,), header=False)
    return {
        "imdb": {"train": [DATA / "imdb/train.csv.gz"], "test": [DATA / "imdb/test.csv.gz"]},
        "sst2": {"train": [DATA / "sst2/stsa.binary.train"], "val": [DATA / "sst2/stsa.binary.dev"],
                 "test": [DATA / "sst2/stsa.binary.test"]},
        "sms_spam": {"train": [DATA / "sms_spam/SMSSpamCollection"], "read": sms_read,
                     "test_fraction": True},
    }


def run_one(name: str, spec: dict, model: str, out: Path) -> dict:
    config = RunConfig(read=spec.get("read", ReadConfig()))
    request = TrainRequest(train=[str(p) for p in spec["train"]], out=out / f"{name}-{model}",
                           config=config, val=[str(p) for p in spec.get("val", [])],
                           test=[str(p) for p in spec.get("test", [])], model=model, verbose=0)
    start = time.perf_counter()
    metrics = train(request)
    seconds = time.perf_counter() - start
    report = json.loads((request.out / "report.json").read_text())
    return {"data": name, "model": metrics["model"],
            "test_accuracy": metrics.get("test_accuracy"),
            "val_accuracy": metrics["val_accuracy"], "epochs": metrics["epochs_run"],
            "best_epoch": metrics["best_epoch"], "seconds": seconds,
            "peak_rss_mib": report["peak_rss_bytes"] / 2**20}


def table(rows: list[dict]) -> str:
    lines = ["| data | model | test acc | val acc | best/run epochs | wall s | peak RSS MiB |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        test = f"{r['test_accuracy']:.4f}" if r["test_accuracy"] is not None else "n/a"
        lines.append(f"| {r['data']} | {r['model']} | {test} | {r['val_accuracy']:.4f} | "
                     f"{r['best_epoch']}/{r['epochs']} | {r['seconds']:.1f} | "
                     f"{r['peak_rss_mib']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mlp,sepcnn,ngram-bag")
    parser.add_argument("--data", default="imdb,sst2,sms_spam")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-accuracy"))
    args = parser.parse_args()
    specs = datasets()
    rows = []
    for name in args.data.split(","):
        spec = specs[name]
        if spec.pop("test_fraction", False):
            spec = _holdout(spec, name, args.out)
        for model in args.models.split(","):
            rows.append(run_one(name, spec, model, args.out))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(rows))


def _holdout(spec: dict, name: str, out: Path) -> dict:
    """Write a stable 20% test split of a one-file data set (by line number) beside the runs."""
    source = spec["train"][0]
    lines = source.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    folder = out / f"{name}-split"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.tsv").write_text("".join(l for i, l in enumerate(lines) if i % 5))
    (folder / "test.tsv").write_text("".join(l for i, l in enumerate(lines) if not i % 5))
    return {**spec, "train": [folder / "train.tsv"], "test": [folder / "test.tsv"]}


if __name__ == "__main__":
    main()
