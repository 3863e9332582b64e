"""Uni+bigrams vs uni+bi+trigrams on IMDB: can a validation split choose trigrams? (issue 12)

The features are scikit-learn's (``TfidfVectorizer(min_df=2, sublinear_tf=True,
strip_accents="unicode")`` + ``SelectKBest(f_classif, k)`` + NB scaling, as textbatch's default
builds them for n <= 2); the model is textbatch's own MLP (``models/mlp.py``) with the default
MLP settings: Adam 3e-3, batch 512, up to 10 epochs, early stopping on val_loss with patience 2,
best epoch kept. Validation is a fixed random tenth of IMDB's training reviews; the test set is
IMDB's own. Prints, per setting and seed, the best epoch's validation loss and accuracy and the
test accuracy at that epoch. Figures, never assertions (~6 minutes for the three defaults).

    .venv/bin/python bench/ngram_order.py
    .venv/bin/python bench/ngram_order.py --settings 2:50000,3:100000 --seeds 0
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.feature_selection import SelectKBest, f_classif
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table  # noqa: E402
from peers import load  # noqa: E402  (the suite's IMDB rows: label, text)

from textbatch.config import ModelConfig  # noqa: E402
from textbatch.features.selection import nb_log_count_ratio  # noqa: E402
from textbatch.models.mlp import MLP  # noqa: E402

BATCH, EPOCHS, PATIENCE, LEARNING_RATE = 512, 10, 2, 3e-3


def labelled(rows: list[tuple[str, str]]) -> tuple[list[str], np.ndarray]:
    """Texts and 0-based labels of IMDB's (class "1"/"2", text) rows."""
    return [text for _, text in rows], np.array([int(label) - 1 for label, _ in rows])


def features(train: list[str], labels: np.ndarray, others: list[list[str]], max_n: int,
             top_k: int) -> list[sp.csr_matrix]:
    """tf-idf of n-grams up to ``max_n``, the ``top_k`` best by f_classif, NB-scaled."""
    tfidf = TfidfVectorizer(ngram_range=(1, max_n), min_df=2, sublinear_tf=True,
                            strip_accents="unicode", dtype=np.float32)
    fitted = tfidf.fit_transform(train)
    select = SelectKBest(f_classif, k=min(top_k, fitted.shape[1])).fit(fitted, labels)
    matrices = [select.transform(m) for m in [fitted, *map(tfidf.transform, others)]]
    sums = np.vstack([np.asarray(matrices[0][labels == c].sum(0)).ravel() for c in (0, 1)])
    scale = sp.diags(nb_log_count_ratio(sums).astype(np.float32))
    return [(m @ scale).tocsr() for m in matrices]


def tensors(matrix: sp.csr_matrix, rows: np.ndarray) -> tuple[torch.Tensor, ...]:
    part = matrix[rows]
    return (torch.from_numpy(part.indices.astype(np.int64)),
            torch.from_numpy(part.indptr[:-1].astype(np.int64)),
            torch.from_numpy(part.data.astype(np.float32)))


def evaluate(model: MLP, matrix: sp.csr_matrix, labels: np.ndarray) -> tuple[float, float]:
    model.eval()
    loss = correct = 0.0
    with torch.no_grad():
        for start in range(0, matrix.shape[0], 2048):
            rows = np.arange(start, min(start + 2048, matrix.shape[0]))
            logits = model(*tensors(matrix, rows))[:, 0]
            target = torch.from_numpy(labels[rows]).float()
            loss += float(F.binary_cross_entropy_with_logits(logits, target, reduction="sum"))
            correct += float(((logits > 0).float() == target).sum())
    model.train()
    return loss / matrix.shape[0], correct / matrix.shape[0]


def train(matrices: list[sp.csr_matrix], labels: list[np.ndarray], seed: int) -> dict:
    """The best-val_loss epoch's validation loss/accuracy and test accuracy."""
    (x_train, x_val, x_test), (y_train, y_val, y_test) = matrices, labels
    torch.manual_seed(seed)
    order = np.random.default_rng(seed)
    model = MLP(ModelConfig(num_features=x_train.shape[1], num_classes=2))
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    best, waited = {"val_loss": float("inf")}, 0
    for epoch in range(1, EPOCHS + 1):
        permutation = order.permutation(x_train.shape[0])
        for start in range(0, len(permutation), BATCH):
            rows = permutation[start: start + BATCH]
            logits = model(*tensors(x_train, rows))[:, 0]
            loss = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(y_train[rows]).float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        val_loss, val_accuracy = evaluate(model, x_val, y_val)
        if val_loss < best["val_loss"]:
            best = {"epoch": epoch, "val_loss": val_loss, "val_accuracy": val_accuracy,
                    "test_accuracy": evaluate(model, x_test, y_test)[1]}
            waited = 0
        else:
            waited += 1
            if waited >= PATIENCE:
                break
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="2:50000,3:50000,3:200000",
                        help="comma-separated MAX_N:TOP_K pairs; default: 2:50000,3:50000,3:200000")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated; default: 0,1,2")
    args = parser.parse_args()
    train_rows, test_rows = load("imdb")
    texts, labels = labelled(train_rows)
    test_texts, test_labels = labelled(test_rows)
    permutation = np.random.default_rng(123).permutation(len(texts))
    val_rows, train_rows = permutation[: len(texts) // 10], permutation[len(texts) // 10:]
    train_texts = [texts[i] for i in train_rows]
    val_texts = [texts[i] for i in val_rows]
    split_labels = [labels[train_rows], labels[val_rows], test_labels]
    rows = []
    for setting in args.settings.split(","):
        max_n, top_k = (int(v) for v in setting.split(":"))
        start = time.perf_counter()
        matrices = features(train_texts, split_labels[0], [val_texts, test_texts], max_n, top_k)
        seconds = time.perf_counter() - start
        for seed in (int(s) for s in args.seeds.split(",")):
            best = train(matrices, split_labels, seed)
            rows.append([f"(1, {max_n})", top_k, seed, f"{seconds:.0f}", best["epoch"],
                         f"{best['val_loss']:.4f}", f"{best['val_accuracy']:.4f}",
                         f"{best['test_accuracy']:.4f}"])
            print(rows[-1], file=sys.stderr, flush=True)
    print_table(["n-grams", "top_k", "seed", "features s", "best epoch", "val loss",
                 "val accuracy", "test accuracy"], rows)


if __name__ == "__main__":
    main()
