"""Multi-label decisions, scores and threshold tuning, checked against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics

from textbatch.multilabel import MultiLabelAccumulator, decide, ranked_labels, tune_thresholds

NAMES = ["a", "b", "c", "d"]


def sample(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Indicator rows with 1-3 labels, and probabilities that lean towards them."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, len(NAMES))) < [0.5, 0.3, 0.1, 0.02]).astype(np.uint8)
    probs = np.clip(0.35 * y + rng.random(y.shape) * 0.65, 0, 1)
    return y, probs


def accumulate(y: np.ndarray, probs: np.ndarray, thresholds=0.5) -> MultiLabelAccumulator:
    acc = MultiLabelAccumulator(len(NAMES), thresholds)
    for start in range(0, len(y), 64):  # batch by batch, as evaluation streams
        acc.add(y[start:start + 64], probs[start:start + 64])
    return acc


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.3, 0.5, np.array([0.2, 0.5, 0.7, 0.9])])
def test_scores_match_scikit_learn(seed: int, threshold) -> None:
    y, probs = sample(seed)
    result = accumulate(y, probs, threshold).result(NAMES)
    pred = decide(probs, threshold).astype(int)
    for average in ("micro", "macro"):
        p, r, f, _ = metrics.precision_recall_fscore_support(y, pred, average=average,
                                                             zero_division=0)
        assert result[f"{average}_precision"] == pytest.approx(p)
        assert result[f"{average}_recall"] == pytest.approx(r)
        assert result[f"{average}_f1"] == pytest.approx(f)
    p, r, f, support = metrics.precision_recall_fscore_support(y, pred, zero_division=0)
    for i, name in enumerate(NAMES):
        got = result["per_label"][name]
        assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((p[i], r[i], f[i]))
        assert got["support"] == support[i]
    assert result["subset_accuracy"] == pytest.approx(metrics.accuracy_score(y, pred))
    top1 = probs.argmax(axis=1)
    assert result["precision_at_1"] == pytest.approx(y[np.arange(len(y)), top1].mean())
    assert result["loss"] == pytest.approx(metrics.log_loss(y.ravel(), probs.ravel()))
    assert result["label_cardinality"] == pytest.approx(y.sum(axis=1).mean())


def test_decide_is_top_k_at_or_above_threshold() -> None:
    probs = np.array([[0.9, 0.6, 0.4, 0.1], [0.2, 0.1, 0.3, 0.25]])
    assert decide(probs, 0.3).tolist() == [[True, True, True, False], [False, False, True, False]]
    assert decide(probs, 0.3, top_k=2).tolist() == [[True, True, False, False],
                                                    [False, False, True, False]]
    assert decide(probs, 0.0, top_k=1).tolist() == [[True, False, False, False],
                                                    [False, False, True, False]]
    row = decide(probs, 0.3)[0]
    assert ranked_labels(probs[0], row, NAMES) == ["a", "b", "c"]


def test_tuned_thresholds_are_the_best_per_label_f1_on_validation() -> None:
    y, probs = sample(3, n=500)
    acc = accumulate(y, probs)
    tuned = acc.tuned()
    for j in range(len(NAMES)):
        grid = np.arange(0, 1001) / 1000
        f1 = [metrics.f1_score(y[:, j], probs[:, j] >= t, zero_division=0) for t in grid]
        assert metrics.f1_score(y[:, j], probs[:, j] >= tuned[j]) == pytest.approx(max(f1))
    before, after = acc.result(NAMES), acc.result(NAMES, tuned)
    assert after["macro_f1"] >= before["macro_f1"]


def test_a_label_without_positives_keeps_the_default_threshold() -> None:
    positive = np.zeros((2, 1000), np.int64)
    negative = np.ones((2, 1000), np.int64)
    positive[0, 900:] = 5
    tuned = tune_thresholds(positive, negative)
    assert tuned[1] == 0.5 and tuned[0] == pytest.approx(0.9)
