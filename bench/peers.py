"""textbatch's default model next to its peers on IMDB: accuracy, wall seconds, peak RSS.

    bench/make_peers_venv.sh                       # once: fastText, VW, Keras into .venv-bench
    .venv-bench/bin/python bench/peers.py          # the table

Every contender runs in its own child process (``--peer NAME``), so its wall time includes
reading the CSV and its peak RSS (``wait4`` rusage) is its own. Validation for early stopping is
always carved from train; the test file is scored once.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "imdb"
TRAIN, TEST = DATA / "train.csv.gz", DATA / "test.csv.gz"
PEERS = ("textbatch", "fasttext", "vowpalwabbit", "sklearn-sgd", "keras-mlp")


def read_imdb(path: Path) -> tuple[list[str], list[int]]:
    with gzip.open(path, "rt", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return [(r[1] + " " + r[2]).replace("\\n", " ") for r in rows], [int(r[0]) - 1 for r in rows]


def accuracy(predicted, truth) -> float:
    return sum(int(p) == int(t) for p, t in zip(predicted, truth)) / len(truth)


# -- contenders (each prints one JSON line: {"accuracy": ...}) -------------------------------------

def run_textbatch(work: Path) -> float:
    out = work / "textbatch"
    subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "textbatch", "train",
                    str(TRAIN), "--test", str(TEST), "--out", str(out), "--verbose", "0"],
                   check=True, stdout=subprocess.DEVNULL)
    return json.loads((out / "metrics.json").read_text())["test_accuracy"]


_FT_SPLIT = re.compile(r"([.,()!?])")
_FT_DROP = re.compile(r'"|;|:|<br />')


def fasttext_normalize(text: str) -> str:
    """The normalisation of fastText's own classification-example.sh: lower case, punctuation
    split off, quotes, semicolons, colons and <br /> dropped (fastText splits on spaces only)."""
    text = _FT_DROP.sub(" ", text.lower().replace("'", " ' "))
    return " ".join(_FT_SPLIT.sub(r" \1 ", text).split())


def run_fasttext(work: Path) -> float:
    import fasttext

    texts, labels = read_imdb(TRAIN)
    train_file = work / "train.ft"
    with train_file.open("w") as handle:
        for text, label in zip(texts, labels):
            handle.write(f"__label__{label} {fasttext_normalize(text)}\n")
    # fastText's defaults (5 epochs, lr 0.1) underfit IMDB; these are the usual bigram settings.
    model = fasttext.train_supervised(str(train_file), wordNgrams=2, epoch=10, lr=0.5, thread=2,
                                      verbose=0)
    test_texts, test_labels = read_imdb(TEST)
    predicted, _ = model.predict([fasttext_normalize(t) for t in test_texts])
    return accuracy([p[0].replace("__label__", "") for p in predicted], test_labels)


def run_vowpalwabbit(work: Path) -> float:
    import vowpalwabbit

    def write(path: Path, texts: list[str], labels: list[int]) -> None:
        with path.open("w") as handle:
            for text, label in zip(texts, labels):
                clean = text.lower().replace("|", " ").replace(":", " ")
                handle.write(f"{1 if label else -1} |t {clean}\n")

    texts, labels = read_imdb(TRAIN)
    write(work / "train.vw", texts, labels)
    model = work / "model.vw"
    vw = vowpalwabbit.Workspace(f"-d {work / 'train.vw'} --loss_function logistic --ngram 2 "
                                f"--passes 5 -c -k -b 24 -f {model} --quiet")
    vw.finish()
    test_texts, test_labels = read_imdb(TEST)
    vw = vowpalwabbit.Workspace(f"-i {model} -t --quiet")
    predicted = []
    for text in test_texts:
        clean = text.lower().replace("|", " ").replace(":", " ")
        predicted.append(1 if vw.predict(f"|t {clean}") > 0 else 0)
    vw.finish()
    return accuracy(predicted, test_labels)


def run_sklearn_sgd(work: Path) -> float:
    import numpy as np
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import SGDClassifier

    vectorizer = HashingVectorizer(ngram_range=(1, 2), n_features=2**20, alternate_sign=False,
                                   norm="l2")
    model = SGDClassifier(loss="log_loss", alpha=1e-5, random_state=0)
    texts, labels = read_imdb(TRAIN)
    y = np.asarray(labels)
    for epoch in range(5):  # out of core: 1,000 documents in memory at a time
        order = np.random.default_rng(epoch).permutation(len(texts))
        for start in range(0, len(order), 1_000):
            index = order[start:start + 1_000]
            model.partial_fit(vectorizer.transform([texts[i] for i in index]), y[index], [0, 1])
    test_texts, test_labels = read_imdb(TEST)
    return accuracy(model.predict(vectorizer.transform(test_texts)), test_labels)


def run_keras_mlp(work: Path) -> float:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.feature_selection import SelectKBest, f_classif

    texts, labels = read_imdb(TRAIN)
    test_texts, test_labels = read_imdb(TEST)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, strip_accents="unicode",
                                 dtype=np.float32)
    x = vectorizer.fit_transform(texts)
    selector = SelectKBest(f_classif, k=min(20_000, x.shape[1])).fit(x, labels)
    x = selector.transform(x).astype(np.float32).toarray()  # the guide densifies
    x_test = selector.transform(vectorizer.transform(test_texts)).astype(np.float32).toarray()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dropout(0.2),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(1, "sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy",
                  metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    model.fit(x, np.asarray(labels), epochs=1000, batch_size=128, validation_split=0.1,
              callbacks=[stop], verbose=0)
    predicted = (model.predict(x_test, batch_size=1024, verbose=0)[:, 0] > 0.5).astype(int)
    return accuracy(predicted, test_labels)


RUNNERS = {"textbatch": run_textbatch, "fasttext": run_fasttext,
           "vowpalwabbit": run_vowpalwabbit, "sklearn-sgd": run_sklearn_sgd,
           "keras-mlp": run_keras_mlp}
LABELS = {"textbatch": "textbatch default (mlp)", "fasttext": "fastText 0.9.2 bigrams, 10 epochs, lr 0.5",
          "vowpalwabbit": "Vowpal Wabbit, 5 passes, bigrams",
          "sklearn-sgd": "sklearn Hashing + SGD partial_fit",
          "keras-mlp": "Keras 3 guide MLP (torch backend)"}


def measure(peer: str) -> dict:
    """Run one peer in a child process; wall seconds and the child's own peak RSS."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, __file__, "--peer", peer], stdout=subprocess.PIPE,
                             text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        return {"peer": peer, "error": f"exit status {status}", "seconds": seconds}
    result = json.loads(output.strip().splitlines()[-1])
    peak = usage.ru_maxrss * 1024  # KiB on Linux
    if peer == "textbatch":  # the CLI is a grandchild: take its own report
        peak = max(peak, result.get("peak_rss_bytes", 0))
    return {"peer": peer, "accuracy": result["accuracy"], "seconds": seconds,
            "peak_rss_mib": peak / 2**20}


def table(rows: list[dict]) -> str:
    lines = ["| contender | IMDB test accuracy | wall s | peak RSS MiB |", "|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {LABELS[r['peer']]} | {r['error']} | {r['seconds']:.1f} | |")
            continue
        lines.append(f"| {LABELS[r['peer']]} | {r['accuracy']:.4f} | {r['seconds']:.1f} | "
                     f"{r['peak_rss_mib']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", choices=PEERS, help=argparse.SUPPRESS)
    parser.add_argument("--peers", default=",".join(PEERS))
    args = parser.parse_args()
    if args.peer:
        with tempfile.TemporaryDirectory() as work:
            value = RUNNERS[args.peer](Path(work))
            extra = {}
            if args.peer == "textbatch":
                report = json.loads((Path(work) / "textbatch" / "report.json").read_text())
                extra = {"peak_rss_bytes": report["peak_rss_bytes"]}
            print(json.dumps({"accuracy": value, **extra}))
        return
    rows = []
    for peer in args.peers.split(","):
        rows.append(measure(peer))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
