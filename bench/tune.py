"""The guide's tuning step on IMDB: ``textbatch tune`` (layers {1,2,3} x units {8..128}, one
vectorizer fit) against separate ``textbatch train`` runs, and fastText's autotune given the
same time budget. Figures, never assertions.

    .venv-bench/bin/python bench/tune.py [--separate 3] [--work /tmp/bench_tune]

Every contender runs in its own child process, so its wall time includes reading the CSVs.
Running all 15 separate trainings would take most of an hour on two busy cores: ``--separate N``
times N of the 15 grid points (spread over the grid) and multiplies their mean by 15, which the
table says. fastText autotune gets ``-autotune-duration`` = the tune's wall time, validated on
a 10% hold-out of train (every 10th row), and is scored on the test file like the others.
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
from peers import TEST, TRAIN, accuracy, fasttext_normalize, read_imdb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GRID = [(layers, units) for layers in (1, 2, 3) for units in (8, 16, 32, 64, 128)]


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def run_tune(work: Path, name: str, extra: list[str]) -> dict:
    out = work / name
    seconds = timed([PYTHON, "-m", "textbatch", "tune", str(TRAIN), "--test", str(TEST),
                     "--out", str(out), "--overwrite", "--verbose", "0", *extra])
    report = json.loads((out / "report.json").read_text())
    trials = [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()]
    best = report["best"]
    return {"seconds": seconds, "trials": len(trials), "fits": report["vectorizer_fits"],
            "skipped": len(report["skipped_by_budget"]),
            "best_val_accuracy": max(t["val_accuracy"] or 0 for t in trials),
            "chosen": best["params"], "chosen_val_accuracy": best["val_accuracy"],
            "test_accuracy": best["test"]["accuracy"], "peak_rss_mib":
            report["peak_rss_bytes"] / 2**20, "train_seconds": report["seconds"]["trials"]}


def run_separate(work: Path, count: int, extra: list[str]) -> dict:
    """``count`` grid points trained as separate runs (each fits its own vectorizer)."""
    picks = [GRID[round(i * (len(GRID) - 1) / max(1, count - 1))] for i in range(count)]
    seconds, accuracies = [], []
    for layers, units in picks:
        out = work / f"train-{layers}-{units}"
        seconds.append(timed([PYTHON, "-m", "textbatch", "train", str(TRAIN), "--out", str(out),
                              "--overwrite", "--model", "mlp", "--layers", str(layers),
                              "--units", str(units), "--verbose", "0", *extra]))
        accuracies.append(json.loads((out / "metrics.json").read_text())["val_accuracy"])
    mean = sum(seconds) / len(seconds)
    return {"points": picks, "seconds": seconds, "mean": mean, "estimated_15": 15 * mean,
            "val_accuracy": accuracies}


def run_fasttext_autotune(work: Path, duration: int) -> dict:
    import fasttext

    texts, labels = read_imdb(TRAIN)
    train_file, val_file = work / "train.ft", work / "val.ft"
    with train_file.open("w") as train, val_file.open("w") as val:
        for index, (text, label) in enumerate(zip(texts, labels)):
            (val if index % 10 == 0 else train).write(
                f"__label__{label} {fasttext_normalize(text)}\n")
    start = time.perf_counter()
    try:
        model = fasttext.train_supervised(str(train_file), autotuneValidationFile=str(val_file),
                                          autotuneDuration=duration, thread=2, verbose=0)
    except RuntimeError as exc:  # "Didn't have enough time to train once" on a busy machine
        return {"seconds": time.perf_counter() - start, "val_accuracy": float("nan"),
                "test_accuracy": float("nan"), "error": str(exc)}
    test_texts, test_labels = read_imdb(TEST)
    predicted, _ = model.predict([fasttext_normalize(t) for t in test_texts])
    seconds = time.perf_counter() - start
    _, precision, _ = model.test(str(val_file))
    return {"seconds": seconds, "val_accuracy": precision,
            "test_accuracy": accuracy([p[0].replace("__label__", "") for p in predicted],
                                      test_labels)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--separate", type=int, default=3, help="grid points run separately")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_tune"))
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs of every trial and separate run (default: train's)")
    parser.add_argument("--budget", type=int, default=0, help="seconds: also run tune "
                        "--time-budget and fastText -autotune-duration with it (0: tune's "
                        "grid wall time for fastText only)")
    parser.add_argument("--skip-fasttext", action="store_true")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    extra = ["--epochs", str(args.epochs)] if args.epochs else []
    print(f"load average before: {os.getloadavg()}", flush=True)
    tuned = run_tune(args.work, "tune", extra)
    print(json.dumps(tuned), flush=True)
    separate = run_separate(args.work, args.separate, extra)
    print(json.dumps(separate), flush=True)
    rows = [[f"textbatch tune, 15-point grid ({tuned['fits']} vectorizer fit)",
             tuned["seconds"], f"{tuned['best_val_accuracy']:.4f}",
             f"{tuned['test_accuracy']:.4f}"],
            [f"15 x textbatch train (mean of {args.separate} runs x 15)",
             separate["estimated_15"], f"{max(separate['val_accuracy']):.4f} (of "
             f"{args.separate})", "-"]]
    budget = args.budget or round(tuned["seconds"])
    if args.budget:
        capped = run_tune(args.work, "tune-budget", [*extra, "--time-budget", f"{budget}s"])
        print(json.dumps(capped), flush=True)
        rows.append([f"textbatch tune --time-budget {budget}s ({capped['trials']} trials, "
                     f"{capped['skipped']} skipped)", capped["seconds"],
                     f"{capped['best_val_accuracy']:.4f}", f"{capped['test_accuracy']:.4f}"])
    if not args.skip_fasttext:
        ft = run_fasttext_autotune(args.work, budget)
        print(json.dumps(ft), flush=True)
        rows.append([f"fastText autotune, -autotune-duration {budget}", ft["seconds"],
                     f"{ft['val_accuracy']:.4f}", f"{ft['test_accuracy']:.4f}"])
    print_table(["contender", "wall s", "best val accuracy", "test accuracy"], rows)
    print(f"tune vs separate: {separate['estimated_15'] / tuned['seconds']:.2f}x cheaper; "
          f"chosen {tuned['chosen']}; load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
