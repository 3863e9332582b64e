"""Multi-label text classification on GoEmotions: textbatch next to fastText ``-loss ova`` and
scikit-learn one-vs-rest logistic regression; test micro-F1, macro-F1, wall seconds, peak RSS.

    bench/make_peers_venv.sh                       # once: fastText into .venv-bench
    .venv-bench/bin/python bench/multilabel.py     # the table

GoEmotions (Demszky et al. 2020): 43,410 train / 5,426 dev / 5,427 test Reddit comments, 28
labels (27 = neutral). Every contender trains on train, may use dev (early stopping, threshold
tuning) and is scored once on test. Each runs in its own child process, so its wall time
includes reading the TSVs and its peak RSS (``wait4`` rusage) is its own; a contender's second
row is the same fitted model under another decision rule (threshold 0.5 or tuned on dev).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import run_child  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "goemotions"
NUM_LABELS = 28
PEERS = ("textbatch", "fasttext", "sklearn-ovr")
LABELS = {  # contender -> its rows: the same fitted model at each decision rule
    "textbatch": ("textbatch mlp --task multilabel --learning-rate 0.01, thresholds tuned on dev "
                  "(--tune-thresholds)", "same model, threshold 0.5"),
    "fasttext": ("fastText 0.9.2 -loss ova, bigrams, 10 epochs, lr 0.5, threshold 0.5",),
    "sklearn-ovr": ("sklearn tf-idf 1-2 + OvR LogisticRegression C=4 (liblinear), threshold 0.5",
                    "same model, thresholds tuned on dev (textbatch's tuning)"),
}


def read_split(name: str) -> tuple[list[str], np.ndarray]:
    """Texts and 0/1 label rows [n, 28] of one split."""
    texts, rows = [], []
    for line in (DATA / f"{name}.tsv").read_text("utf-8").splitlines():
        text, ids, _ = line.split("\t")
        texts.append(text)
        rows.append([int(i) for i in ids.split(",")])
    y = np.zeros((len(rows), NUM_LABELS), np.uint8)
    for i, ids in enumerate(rows):
        y[i, ids] = 1
    return texts, y


def scores(y: np.ndarray, predicted: np.ndarray) -> dict:
    from sklearn.metrics import f1_score

    return {"micro_f1": float(f1_score(y, predicted, average="micro", zero_division=0)),
            "macro_f1": float(f1_score(y, predicted, average="macro", zero_division=0))}


def tuned_thresholds(y_dev: np.ndarray, p_dev: np.ndarray) -> np.ndarray:
    """The library's own per-label tuning, applied to a peer's dev probabilities."""
    sys.path.insert(0, str(ROOT / "src"))  # .venv-bench sees .venv's packages, not the editable
    from textbatch.multilabel import MultiLabelAccumulator  # install of textbatch itself

    accumulator = MultiLabelAccumulator(NUM_LABELS)
    accumulator.add(y_dev, p_dev)
    return accumulator.tuned()


# -- contenders (each prints one JSON line of scores) -------------------------------------------

def run_textbatch(work: Path) -> list[dict]:
    out = work / "textbatch"
    python = str(ROOT / ".venv" / "bin" / "python")
    read = ["--text-column", "0", "--label-column", "1", "--no-header", "--label-separator", ","]
    subprocess.run([python, "-m", "textbatch", "train", str(DATA / "train.tsv"), "--val",
                    str(DATA / "dev.tsv"), "--test", str(DATA / "test.tsv"), "--out", str(out),
                    "--task", "multilabel", "--model", "mlp", "--learning-rate", "0.01",
                    "--tune-thresholds", "--verbose", "0", *read], check=True,
                   stdout=subprocess.DEVNULL)
    metrics = json.loads((out / "metrics.json").read_text())
    report = json.loads((out / "report.json").read_text())
    at_half = json.loads(subprocess.run(
        [python, "-m", "textbatch", "evaluate", str(out), str(DATA / "test.tsv"), "--threshold",
         "0.5", "--json"], check=True, capture_output=True, text=True).stdout)
    return [{"micro_f1": metrics["test_micro_f1"], "macro_f1": metrics["test_macro_f1"],
             "peak_rss_bytes": report["peak_rss_bytes"]},
            {"micro_f1": at_half["micro_f1"], "macro_f1": at_half["macro_f1"]}]


def run_fasttext(work: Path) -> dict:
    import fasttext

    texts, _ = read_split("train")
    train_file = work / "train.ft"
    lines = (DATA / "train.tsv").read_text("utf-8").splitlines()
    with train_file.open("w") as handle:
        for line, text in zip(lines, texts):
            labels = " ".join(f"__label__{i}" for i in line.split("\t")[1].split(","))
            handle.write(f"{labels} {' '.join(text.lower().split())}\n")
    model = fasttext.train_supervised(str(train_file), loss="ova", wordNgrams=2, epoch=10,
                                      lr=0.5, thread=2, verbose=0)
    test_texts, y = read_split("test")
    predicted = np.zeros_like(y)
    # a list, not one string: fastText 0.9.2's one-text path breaks on numpy 2 (copy=False)
    names, _ = model.predict([" ".join(t.lower().split()) for t in test_texts], k=-1,
                             threshold=0.5)
    for row, labels in enumerate(names):
        predicted[row, [int(n.replace("__label__", "")) for n in labels]] = 1
    return [scores(y, predicted)]


def run_sklearn_ovr(work: Path) -> list[dict]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    texts, y = read_split("train")
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    # liblinear: the same L2 logistic loss, and much faster than lbfgs on 28 sparse problems
    model = OneVsRestClassifier(LogisticRegression(C=4, solver="liblinear"))
    model.fit(vectorizer.fit_transform(texts), y)
    dev_texts, y_dev = read_split("dev")
    tuned = tuned_thresholds(y_dev, model.predict_proba(vectorizer.transform(dev_texts)))
    test_texts, y_test = read_split("test")
    probs = model.predict_proba(vectorizer.transform(test_texts))
    return [scores(y_test, (probs >= 0.5).astype(np.uint8)),
            scores(y_test, (probs >= tuned).astype(np.uint8))]


RUNNERS = {"textbatch": run_textbatch, "fasttext": run_fasttext,
           "sklearn-ovr": run_sklearn_ovr}


def measure(peer: str) -> dict:
    """Run one contender in a child process; wall seconds and the child's own peak RSS."""
    output, status, usage, seconds = run_child([__file__, "--peer", peer])
    if status != 0:
        return {"peer": peer, "error": f"exit status {status}", "seconds": seconds}
    rows = json.loads(output.strip().splitlines()[-1])
    peak = max(usage.ru_maxrss * 1024, rows[0].pop("peak_rss_bytes", 0))  # the CLI: its report
    return {"peer": peer, "rows": rows, "seconds": seconds, "peak_rss_mib": peak / 2**20}


def table(results: list[dict]) -> str:
    lines = ["| contender | test micro-F1 | test macro-F1 | wall s | peak RSS MiB |",
             "|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {LABELS[r['peer']][0]} | {r['error']} | | {r['seconds']:.1f} | |")
            continue
        for index, (name, row) in enumerate(zip(LABELS[r["peer"]], r["rows"])):
            cost = (f"{r['seconds']:.1f} | {r['peak_rss_mib']:.0f}" if index == 0
                    else "(same run) | ")
            lines.append(f"| {name} | {row['micro_f1']:.3f} | {row['macro_f1']:.3f} | {cost} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", choices=PEERS, help=argparse.SUPPRESS)
    parser.add_argument("--peers", default=",".join(PEERS))
    args = parser.parse_args()
    if args.peer:
        with tempfile.TemporaryDirectory() as work:
            print(json.dumps(RUNNERS[args.peer](Path(work))))
        return
    rows = []
    for peer in args.peers.split(","):
        rows.append(measure(peer))
        print("\n".join(table(rows[-1:]).splitlines()[2:]), flush=True)
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
