"""Feature selection and scaling from per-class sufficient statistics: scikit-learn's
``f_classif`` + ``SelectKBest`` and NBSVM's naive-Bayes log-count ratio.

The statistics (per class: document count, sum and sum of squares of every feature) are what a
streaming pass can hold; ``reduce_class_stats`` sums several ranks' of them, so a distributed fit
selects the same features as one process. Used by ``textbatch.features.ngram``.
"""

from __future__ import annotations

import numpy as np


def nb_log_count_ratio(class_sums: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """NBSVM's ratio r = log((a + p) / |a + p|_1) - log((a + q) / |a + q|_1) from the two
    classes' summed feature values ``class_sums`` [2, num_features] (q: class 0, p: class 1)."""
    q, p = alpha + class_sums[0], alpha + class_sums[1]
    return np.log(p / p.sum()) - np.log(q / q.sum())


def reduce_class_stats(parts: list[dict]) -> dict:
    """Sum per-class statistics of several ranks (classes are the union, sorted)."""
    if len(parts) == 1:
        return parts[0]
    classes = np.unique(np.concatenate([p["classes"] for p in parts]))
    size = parts[0]["sums"].shape[1]
    out = {"classes": classes, "class_counts": np.zeros(len(classes), np.int64),
           "sums": np.zeros((len(classes), size)), "squares": np.zeros((len(classes), size))}
    for part in parts:
        where = np.searchsorted(classes, part["classes"])
        out["class_counts"][where] += part["class_counts"]
        out["sums"][where] += part["sums"]
        out["squares"][where] += part["squares"]
    return out


def f_classif_from_stats(class_counts: np.ndarray, sums: np.ndarray, squares: np.ndarray
                         ) -> np.ndarray:
    """ANOVA F of each feature from per-class n, sum and sum of squares (scikit-learn's
    ``f_oneway``, same operation order so equal columns tie exactly as they do there)."""
    n_classes, n_samples = len(class_counts), float(class_counts.sum())
    ss_alldata = sum(squares[k] for k in range(n_classes))
    square_of_sums_alldata = sum(sums[k] for k in range(n_classes)) ** 2
    sstot = ss_alldata - square_of_sums_alldata / n_samples
    ssbn = 0.0
    for k in range(n_classes):
        ssbn += sums[k] ** 2 / class_counts[k]
    ssbn -= square_of_sums_alldata / n_samples
    msb = ssbn / float(n_classes - 1)
    msw = (sstot - ssbn) / float(n_samples - n_classes)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(msb / msw, dtype=np.float64).ravel()


def select_k_best(scores: np.ndarray, k: int) -> np.ndarray:
    """Ascending column indices of the ``k`` best scores, SelectKBest's rule: NaN lowest, stable
    sort, the last ``k`` (so ties go to later columns). Fewer columns than ``k``: all of them."""
    if k >= len(scores):
        return np.arange(len(scores), dtype=np.int64)
    cleaned = np.where(np.isnan(scores), np.finfo(scores.dtype).min, scores)
    return np.sort(np.argsort(cleaned, kind="mergesort")[-k:]).astype(np.int64)
