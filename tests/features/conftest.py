"""Shared data for the features tests: a real IMDB sample and a tiny corpus with a clear
frequency gap."""

from __future__ import annotations

import csv
import gzip
import itertools
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
IMDB_TRAIN = DATA / "imdb" / "train.csv.gz"


@pytest.fixture(scope="session")
def imdb_sample() -> tuple[list[str], np.ndarray]:
    """The first 2,000 IMDB training reviews (Zhang CSV: class 1 = neg, 2 = pos)."""
    if not IMDB_TRAIN.is_file():
        pytest.skip(f"{IMDB_TRAIN} is absent (the shared data sets are not checked out)")
    with gzip.open(IMDB_TRAIN, "rt", encoding="utf-8", newline="") as handle:
        rows = list(itertools.islice(csv.reader(handle), 2000))
    texts = [r[2].replace("\\n", "\n") for r in rows]
    return texts, np.array([int(r[0]) - 1 for r in rows], dtype=np.int64)


@pytest.fixture
def gap_corpus() -> tuple[list[str], np.ndarray]:
    """Ten frequent words in every other document, and hundreds of words seen once or twice."""
    rng = np.random.default_rng(0)
    frequent = [f"common{i}" for i in range(10)]
    texts, labels = [], []
    for doc in range(600):
        rare = [f"rare{doc}x{k}" for k in range(30)] + [f"twice{doc // 2}"]
        words = rare + (frequent if doc % 2 == 0 else frequent[:5])
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(doc % 2)
    return texts, np.array(labels, dtype=np.int64)
