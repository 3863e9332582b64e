"""Classification metrics for ``textbatch evaluate`` and the end of ``textbatch train``."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


class Accumulator:
    """Streams (labels, probabilities) batch by batch: keeps only label ids, predictions and the
    summed log-loss (two int64 per record), never the texts or the probability rows."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.y_true: list[np.ndarray] = []
        self.y_pred: list[np.ndarray] = []
        self.loss_sum = 0.0

    def add(self, labels: np.ndarray, probs: np.ndarray) -> None:
        picked = probs[np.arange(len(labels)), labels]
        self.loss_sum += float(-np.log(np.clip(picked, 1e-7, 1.0)).sum())
        self.y_true.append(labels.astype(np.int64))
        self.y_pred.append(probs.argmax(axis=1).astype(np.int64))

    def result(self, class_names: Sequence[str]) -> dict[str, Any]:
        y_true = np.concatenate(self.y_true) if self.y_true else np.zeros(0, np.int64)
        y_pred = np.concatenate(self.y_pred) if self.y_pred else np.zeros(0, np.int64)
        return classification_metrics(y_true, y_pred, self.loss_sum, class_names)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, loss_sum: float,
                           class_names: Sequence[str]) -> dict[str, Any]:
    """accuracy, loss (mean cross-entropy), per-class precision/recall/F1/support, confusion.

    Computed from the confusion matrix with numpy (scikit-learn's definitions, zero_division=0;
    tests check them against ``sklearn.metrics``): importing scikit-learn costs about a second,
    which the train command would pay on every run for a handful of divisions.
    """
    num_classes = len(class_names)
    n = len(y_true)
    confusion = np.bincount(y_true * num_classes + y_pred, minlength=num_classes ** 2)
    confusion = confusion.reshape(num_classes, num_classes)
    hits = np.diag(confusion).astype(np.float64)
    support, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    precision = _ratio(hits, predicted)
    recall = _ratio(hits, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    per_class = {
        name: {"precision": float(precision[i]), "recall": float(recall[i]),
               "f1": float(f1[i]), "support": int(support[i])}
        for i, name in enumerate(class_names)
    }
    return {
        "num_records": int(n),
        "accuracy": float(hits.sum() / n) if n else 0.0,
        "loss": loss_sum / n if n else 0.0,
        "macro_f1": float(f1.mean()) if num_classes else 0.0,
        "per_class": per_class,
        "classes": list(class_names),
        "confusion_matrix": confusion.tolist(),
    }


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.zeros(len(numerator), np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out
