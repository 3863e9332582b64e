"""The numpy metrics equal scikit-learn's on random labels, including classes never predicted."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, log_loss, precision_recall_fscore_support

from textbatch.pipeline.metrics import Accumulator


@pytest.mark.parametrize("seed,num_classes", [(0, 2), (1, 4), (2, 5)])
def test_metrics_match_sklearn(seed: int, num_classes: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, 300)
    probs = rng.dirichlet(np.ones(num_classes), 300)
    probs[:, -1] *= 0.01  # the last class is (almost) never predicted: zero_division path
    probs /= probs.sum(axis=1, keepdims=True)
    scores = Accumulator(num_classes)
    scores.add(labels[:100], probs[:100])
    scores.add(labels[100:], probs[100:])
    names = [f"c{i}" for i in range(num_classes)]
    result = scores.result(names)
    predicted = probs.argmax(axis=1)
    p, r, f, s = precision_recall_fscore_support(labels, predicted,
                                                 labels=list(range(num_classes)), zero_division=0)
    for i, name in enumerate(names):
        row = result["per_class"][name]
        assert row["precision"] == pytest.approx(p[i]) and row["recall"] == pytest.approx(r[i])
        assert row["f1"] == pytest.approx(f[i]) and row["support"] == s[i]
    assert result["confusion_matrix"] == confusion_matrix(
        labels, predicted, labels=list(range(num_classes))).tolist()
    assert result["accuracy"] == pytest.approx((labels == predicted).mean())
    assert result["loss"] == pytest.approx(log_loss(labels, probs, labels=list(range(num_classes))),
                                           rel=1e-6)
