"""textbatch's default model next to its peers on a suite of data sets: one table of accuracy,
wall seconds, peak RSS, and textbatch's wall as a multiple of the fastest peer's.

    bench/make_peers_venv.sh                                   # once: fastText, VW, Keras
    .venv-bench/bin/python bench/peers.py                      # every data set, the usual peers
    .venv-bench/bin/python bench/peers.py --data imdb --peers textbatch,vowpalwabbit,keras-mlp

Every data set is first written as ``label<TAB>text`` train/test files (untimed; one-file sets are
cut by line number: every 5th row is test), so every contender reads the same bytes. Every
contender then runs in its own child process (``--peer NAME``), so its wall time includes
reading the files and its peak RSS (``wait4`` rusage) is its own. Validation for early stopping
is always carved from train; the test file is scored once. Figures, never assertions.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import run_child  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
PEERS = ("textbatch", "fasttext", "vowpalwabbit", "sklearn-sgd", "keras-mlp")
DEFAULT_PEERS = "textbatch,fasttext,vowpalwabbit,sklearn-sgd"  # Keras: 6x textbatch's wall
SUITE = ("imdb", "sst2", "sms_spam", "ag_news")


def _zhang(path: Path) -> list[tuple[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="", encoding="utf-8") as handle:
        return [(r[0], " ".join(r[1:]).replace("\\n", " ")) for r in csv.reader(handle)]


def _label_first(path: Path, sep: str | None) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [tuple(line.split(sep, 1)) for line in lines if line.strip()]


def _every_fifth(rows: list) -> tuple[list, list]:
    return ([r for i, r in enumerate(rows) if i % 5], [r for i, r in enumerate(rows) if not i % 5])


def load(name: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(label, text) rows of a data set's train and test splits."""
    if name == "imdb":
        return _zhang(DATA / "imdb/train.csv.gz"), _zhang(DATA / "imdb/test.csv.gz")
    if name == "sst2":
        return (_label_first(DATA / "sst2/stsa.binary.train", " "),
                _label_first(DATA / "sst2/stsa.binary.test", " "))
    if name == "sms_spam":
        return _every_fifth(_label_first(DATA / "sms_spam/SMSSpamCollection", "\t"))
    if name == "ag_news":  # the test split of Zhang's AG News, cut 4:1
        return _every_fifth(_zhang(DATA / "ag_news/test.csv"))
    raise SystemExit(f"unknown data set {name!r}; known: {', '.join(SUITE)}")


def write_split(rows: list[tuple[str, str]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for label, text in rows:
            handle.write(f"{label}\t{' '.join(text.split())}\n")


def read_split(path: Path, classes: list[str]) -> tuple[list[str], list[int]]:
    """Texts and class indices (into the sorted train labels) of a written split."""
    index = {c: i for i, c in enumerate(classes)}
    texts, labels = [], []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            label, _, text = line.rstrip("\n").partition("\t")
            texts.append(text)
            labels.append(index[label])
    return texts, labels


def accuracy(predicted, truth) -> float:
    return sum(int(p) == int(t) for p, t in zip(predicted, truth)) / len(truth)


# -- contenders (each prints one JSON line: {"accuracy": ...}) -------------------------------------

def run_textbatch(data: Path, classes: list[str], work: Path) -> float:
    out = work / "textbatch"
    subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "textbatch", "train",
                    str(data / "train.tsv"), "--test", str(data / "test.tsv"), "--format", "tsv",
                    "--label-column", "0", "--text-columns", "1", "--no-header",
                    "--out", str(out), "--verbose", "0"], check=True, stdout=subprocess.DEVNULL)
    return json.loads((out / "metrics.json").read_text())["test_accuracy"]


_FT_SPLIT = re.compile(r"([.,()!?])")
_FT_DROP = re.compile(r'"|;|:|<br />')


def fasttext_normalize(text: str) -> str:
    """The normalisation of fastText's own classification-example.sh: lower case, punctuation
    split off, quotes, semicolons, colons and <br /> dropped (fastText splits on spaces only)."""
    text = _FT_DROP.sub(" ", text.lower().replace("'", " ' "))
    return " ".join(_FT_SPLIT.sub(r" \1 ", text).split())


def run_fasttext(data: Path, classes: list[str], work: Path) -> float:
    import fasttext

    texts, labels = read_split(data / "train.tsv", classes)
    train_file = work / "train.ft"
    with train_file.open("w") as handle:
        for text, label in zip(texts, labels):
            handle.write(f"__label__{label} {fasttext_normalize(text)}\n")
    # fastText's defaults (5 epochs, lr 0.1) underfit IMDB; these are the usual bigram settings.
    model = fasttext.train_supervised(str(train_file), wordNgrams=2, epoch=10, lr=0.5, thread=2,
                                      verbose=0)
    test_texts, test_labels = read_split(data / "test.tsv", classes)
    predicted, _ = model.predict([fasttext_normalize(t) for t in test_texts])
    return accuracy([p[0].replace("__label__", "") for p in predicted], test_labels)


def run_vowpalwabbit(data: Path, classes: list[str], work: Path) -> float:
    """Logistic loss on bigrams, 5 passes; one-against-all (labels 1..K) beyond two classes."""
    import vowpalwabbit

    binary = len(classes) == 2

    def features(text: str) -> str:
        return "|t " + text.lower().replace("|", " ").replace(":", " ")

    texts, labels = read_split(data / "train.tsv", classes)
    with (work / "train.vw").open("w") as handle:
        for text, label in zip(texts, labels):
            target = (1 if label else -1) if binary else label + 1
            handle.write(f"{target} {features(text)}\n")
    model = work / "model.vw"
    multiclass = "" if binary else f"--oaa {len(classes)} "
    vw = vowpalwabbit.Workspace(f"-d {work / 'train.vw'} {multiclass}--loss_function logistic "
                                f"--ngram 2 --passes 5 -c -k -b 24 -f {model} --quiet")
    vw.finish()
    test_texts, test_labels = read_split(data / "test.tsv", classes)
    vw = vowpalwabbit.Workspace(f"-i {model} -t --quiet")
    predicted = []
    for text in test_texts:
        value = vw.predict(features(text))
        predicted.append((1 if value > 0 else 0) if binary else int(value) - 1)
    vw.finish()
    return accuracy(predicted, test_labels)


def run_sklearn_sgd(data: Path, classes: list[str], work: Path) -> float:
    import numpy as np
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import SGDClassifier

    vectorizer = HashingVectorizer(ngram_range=(1, 2), n_features=2**20, alternate_sign=False,
                                   norm="l2")
    model = SGDClassifier(loss="log_loss", alpha=1e-5, random_state=0)
    texts, labels = read_split(data / "train.tsv", classes)
    y = np.asarray(labels)
    for epoch in range(5):  # out of core: 1,000 documents in memory at a time
        order = np.random.default_rng(epoch).permutation(len(texts))
        for start in range(0, len(order), 1_000):
            index = order[start:start + 1_000]
            model.partial_fit(vectorizer.transform([texts[i] for i in index]), y[index],
                              list(range(len(classes))))
    test_texts, test_labels = read_split(data / "test.tsv", classes)
    return accuracy(model.predict(vectorizer.transform(test_texts)), test_labels)


def run_keras_mlp(data: Path, classes: list[str], work: Path) -> float:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.feature_selection import SelectKBest, f_classif

    texts, labels = read_split(data / "train.tsv", classes)
    test_texts, test_labels = read_split(data / "test.tsv", classes)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, strip_accents="unicode",
                                 dtype=np.float32)
    x = vectorizer.fit_transform(texts)
    selector = SelectKBest(f_classif, k=min(20_000, x.shape[1])).fit(x, labels)
    x = selector.transform(x).astype(np.float32).toarray()  # the guide densifies
    x_test = selector.transform(vectorizer.transform(test_texts)).astype(np.float32).toarray()
    keras.utils.set_random_seed(0)
    binary = len(classes) == 2
    head = (keras.layers.Dense(1, "sigmoid") if binary
            else keras.layers.Dense(len(classes), "softmax"))
    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dropout(0.2),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dropout(0.2), head])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"],
                  loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy")
    stop = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    model.fit(x, np.asarray(labels), epochs=1000, batch_size=128, validation_split=0.1,
              callbacks=[stop], verbose=0)
    scores = model.predict(x_test, batch_size=1024, verbose=0)
    predicted = (scores[:, 0] > 0.5).astype(int) if binary else scores.argmax(axis=1)
    return accuracy(predicted, test_labels)


RUNNERS = {"textbatch": run_textbatch, "fasttext": run_fasttext,
           "vowpalwabbit": run_vowpalwabbit, "sklearn-sgd": run_sklearn_sgd,
           "keras-mlp": run_keras_mlp}
LABELS = {"textbatch": "textbatch default", "fasttext": "fastText 0.9.2 bigrams, 10 epochs, lr 0.5",
          "vowpalwabbit": "Vowpal Wabbit, 5 passes, bigrams",
          "sklearn-sgd": "sklearn Hashing + SGD partial_fit",
          "keras-mlp": "Keras 3 guide MLP (torch backend)"}


def measure(peer: str, data: Path) -> dict:
    """Run one peer in a child process; wall seconds and the child's own peak RSS."""
    output, status, usage, seconds = run_child([__file__, "--peer", peer,
                                                "--split-dir", str(data)])
    if status != 0:
        return {"peer": peer, "error": f"exit status {status}", "seconds": seconds}
    result = json.loads(output.strip().splitlines()[-1])
    peak = usage.ru_maxrss * 1024  # KiB on Linux
    if peer == "textbatch":  # the CLI is a grandchild: take its own report
        peak = max(peak, result.get("peak_rss_bytes", 0))
    return {"peer": peer, "accuracy": result["accuracy"], "seconds": seconds,
            "cpu_seconds": usage.ru_utime + usage.ru_stime,  # with its reaped children
            "peak_rss_mib": peak / 2**20}


HEADER = ["| data | contender | test accuracy | wall s | CPU s | peak RSS MiB | "
          "wall / fastest peer |", "|---|---|---|---|---|---|---|"]


def table_rows(name: str, rows: list[dict]) -> list[str]:
    """One line per contender; the last column is each wall over the fastest peer's (other than
    textbatch) on this data set. CPU s (user + system, the process and its children) says what
    the wall would be on an idle machine when other work shares the cores."""
    peers = [r["seconds"] for r in rows if r["peer"] != "textbatch" and "error" not in r]
    fastest = min(peers) if peers else None
    lines = []
    for r in rows:
        if "error" in r:
            lines.append(f"| {name} | {LABELS[r['peer']]} | {r['error']} | {r['seconds']:.1f} |"
                         " | | |")
            continue
        ratio = f"{r['seconds'] / fastest:.2f}x" if fastest else ""
        lines.append(f"| {name} | {LABELS[r['peer']]} | {r['accuracy']:.4f} | "
                     f"{r['seconds']:.1f} | {r['cpu_seconds']:.1f} | {r['peak_rss_mib']:.0f} | "
                     f"{ratio} |")
    return lines


def prepare(name: str, folder: Path) -> Path:
    """Write ``name``'s train.tsv/test.tsv and classes.json under ``folder``; returns it."""
    train, test = load(name)
    folder.mkdir(parents=True, exist_ok=True)
    write_split(train, folder / "train.tsv")
    write_split(test, folder / "test.tsv")
    classes = sorted({label for label, _ in train})
    (folder / "classes.json").write_text(json.dumps(classes))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", choices=PEERS, help=argparse.SUPPRESS)
    parser.add_argument("--split-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--peers", default=DEFAULT_PEERS,
                        help=f"comma-separated, of {', '.join(PEERS)}; default: {DEFAULT_PEERS}")
    parser.add_argument("--data", default=",".join(SUITE),
                        help=f"comma-separated, of {', '.join(SUITE)}; default: all")
    args = parser.parse_args()
    if args.peer:
        classes = json.loads((args.split_dir / "classes.json").read_text())
        with tempfile.TemporaryDirectory() as work:
            value = RUNNERS[args.peer](args.split_dir, classes, Path(work))
            extra = {}
            if args.peer == "textbatch":
                report = json.loads((Path(work) / "textbatch" / "report.json").read_text())
                extra = {"peak_rss_bytes": report["peak_rss_bytes"]}
            print(json.dumps({"accuracy": value, **extra}))
        return
    lines = []
    with tempfile.TemporaryDirectory() as work:
        for name in args.data.split(","):
            data = prepare(name, Path(work) / name)
            rows = []
            for peer in args.peers.split(","):
                rows.append(measure(peer, data))
                print(f"{name} {peer}: {rows[-1]}", file=sys.stderr, flush=True)
            lines += table_rows(name, rows)
    print("\n".join(HEADER + lines))


if __name__ == "__main__":
    main()
