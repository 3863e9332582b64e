"""f_classif feature selection for multi-label data.

The single-label vectorizer keeps per-class sums of tf-idf values and scores each feature by the
ANOVA F of the classes. With several labels per record there is no partition into classes, so
each label is scored on its own as a binary problem (records with the label against records
without it: scikit-learn's ``f_classif(X, Y[:, j])``), and a feature's score is the **max** over
labels (the default: a feature that singles out any one label, rare ones included, is kept) or
the **mean** (favours features that separate many labels at once, so frequent labels win).

The statistics are the single-label ones with one extra group: ``classes`` holds the label ids
that occur plus ``ALL = -1``, the group of every record. "Without label j" is then ALL minus j,
and summing the statistics of several ranks (``reduce_class_stats``) needs no change.
"""

from __future__ import annotations

import warnings
from typing import Iterator, Literal

import numpy as np

from textbatch.features.selection import f_classif_from_stats

ALL = -1  # the statistics group holding every record
Reduce = Literal["max", "mean"]


def row_groups(labels: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """``(group id, boolean mask over the chunk's records)`` for every group with a member:
    one per class for label ids [n]; ``ALL`` and one per present label for 0/1 rows [n, C]."""
    if labels.ndim == 1:
        for label in np.unique(labels).tolist():
            yield label, labels == label
        return
    yield ALL, np.ones(len(labels), dtype=bool)
    for label in np.flatnonzero(labels.any(axis=0)).tolist():
        yield label, labels[:, label].astype(bool)


def multilabel_f_classif(stats: dict, reduce: Reduce = "max") -> np.ndarray:
    """Per-feature score: ``reduce`` over labels of the binary f_classif of each label.

    ``stats`` is a class-statistics dict whose ``classes`` start with ``ALL`` (sorted ids).
    Features with no variance score NaN for a label (as in scikit-learn) and are ignored by
    the reduction unless they are NaN for every label.
    """
    classes = np.asarray(stats["classes"])
    if len(classes) == 0 or classes[0] != ALL:
        raise ValueError("multi-label statistics must hold the ALL group (-1) first")
    n, total, total_sq = stats["class_counts"][0], stats["sums"][0], stats["squares"][0]
    scores = []
    for k in range(1, len(classes)):
        count, sums, squares = stats["class_counts"][k], stats["sums"][k], stats["squares"][k]
        if count == n:  # the label is on every record: it separates nothing
            continue
        scores.append(f_classif_from_stats(np.array([n - count, count]),
                                           np.stack([total - sums, sums]),
                                           np.stack([total_sq - squares, squares])))
    if not scores:
        return np.full(len(total), np.nan)
    stacked = np.stack(scores)
    with warnings.catch_warnings():  # all-NaN columns (constant features) warn; NaN is right
        warnings.simplefilter("ignore", RuntimeWarning)
        out = np.nanmax(stacked, axis=0) if reduce == "max" else np.nanmean(stacked, axis=0)
    return np.asarray(out, np.float64)
