"""Multi-label decisions and scores: which labels a probability row means, how good that is,
and the per-label thresholds that make it best.

Owns the numbers of the multi-label task after the model: ``decide`` (fastText's
``predict(k, threshold)``: the labels at or above a threshold, at most k of them, best first),
the streaming ``MultiLabelAccumulator`` (micro/macro precision/recall/F1, per-label scores,
precision@1, subset accuracy, mean binary cross-entropy) and ``tune_thresholds`` (one threshold
per label, the one with the best F1 on validation). Models, readers and the training loop
know nothing of thresholds; they hand probabilities here.

Memory is per label, never per record: each label keeps a histogram of the probabilities its
positive and its negative records got (``BINS`` bins), which is enough to score any threshold
on a bin edge and so to tune thresholds on a validation set of any size in one pass. Scores
follow scikit-learn's definitions with ``zero_division=0``; the tests check them against
``sklearn.metrics`` (importing scikit-learn would cost the train command about a second for a
handful of divisions).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

BINS = 1000  # thresholds are tuned to 0.001; 2 x 8 bytes x 1000 per label
DEFAULT_THRESHOLD = 0.5


def decide(probs: np.ndarray, threshold: float | np.ndarray = DEFAULT_THRESHOLD,
           top_k: int | None = None) -> np.ndarray:
    """Boolean [n, C]: label j of row i is predicted when ``probs[i, j] >= threshold[j]`` and
    it is among the row's ``top_k`` most probable labels (all labels when ``top_k`` is None).

    ``threshold`` is one number or one per label (tuned ones). A row may end with no label at
    all, as in fastText; ``top_k=1`` with ``threshold=0`` is single-label argmax.
    """
    probs = np.asarray(probs, dtype=np.float64)
    chosen = probs >= np.asarray(threshold, dtype=np.float64)
    if top_k is not None and top_k < probs.shape[1]:
        order = np.argsort(-probs, axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(probs.shape[1])[None, :], axis=1)
        chosen &= ranks < top_k
    return chosen


def ranked_labels(probs_row: np.ndarray, chosen_row: np.ndarray,
                  names: Sequence[str]) -> list[str]:
    """The chosen label names of one row, most probable first (what ``predict`` writes)."""
    picked = np.flatnonzero(chosen_row)
    return [names[j] for j in picked[np.argsort(-probs_row[picked], kind="stable")]]


def _bins(probs: np.ndarray) -> np.ndarray:
    return np.clip((probs * BINS).astype(np.int64), 0, BINS - 1)


class MultiLabelAccumulator:
    """Streams (indicator rows, probability rows) batch by batch.

    ``thresholds`` (one, or one per label) decide the labels that subset accuracy and the
    F1 scores of ``result`` are computed for; ``tuned`` re-scores at per-label thresholds
    chosen from the same histograms, without another pass.
    """

    def __init__(self, num_labels: int,
                 thresholds: float | np.ndarray = DEFAULT_THRESHOLD) -> None:
        self.num_labels = num_labels
        self.thresholds = np.broadcast_to(np.asarray(thresholds, np.float64),
                                          (num_labels,)).copy()
        self.positive = np.zeros((num_labels, BINS), np.int64)
        self.negative = np.zeros((num_labels, BINS), np.int64)
        self.num_records = 0
        self.exact = 0
        self.top1_hits = 0
        self.loss_sum = 0.0

    def add(self, y_true: np.ndarray, probs: np.ndarray) -> None:
        """One batch: ``y_true`` 0/1 [n, C], ``probs`` [n, C] in [0, 1]."""
        y_true = np.asarray(y_true).astype(bool)
        probs = np.asarray(probs, np.float64)
        bins = _bins(probs)
        labels = np.broadcast_to(np.arange(self.num_labels), bins.shape)
        np.add.at(self.positive, (labels[y_true], bins[y_true]), 1)
        np.add.at(self.negative, (labels[~y_true], bins[~y_true]), 1)
        clipped = np.clip(probs, 1e-7, 1 - 1e-7)
        self.loss_sum += float(-np.where(y_true, np.log(clipped), np.log1p(-clipped)).mean(1).sum())
        self.exact += int((decide(probs, self.thresholds) == y_true).all(axis=1).sum())
        if len(probs):
            self.top1_hits += int(y_true[np.arange(len(probs)), probs.argmax(axis=1)].sum())
        self.num_records += len(probs)

    def counts(self, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(true positives, false positives, false negatives) per label at ``thresholds``
        (rounded to bin edges, as the histograms hold them)."""
        edges = np.clip(np.ceil(np.asarray(thresholds) * BINS - 1e-9).astype(np.int64), 0, BINS)
        above_pos = _tail_sums(self.positive)[np.arange(self.num_labels), edges]
        above_neg = _tail_sums(self.negative)[np.arange(self.num_labels), edges]
        return above_pos, above_neg, self.positive.sum(axis=1) - above_pos

    def result(self, names: Sequence[str], thresholds: np.ndarray | None = None) -> dict[str, Any]:
        """Scores at ``thresholds`` (default: the accumulator's own)."""
        thresholds = self.thresholds if thresholds is None else thresholds
        tp, fp, fn = self.counts(thresholds)
        n = self.num_records
        scores = label_scores(tp, fp, fn)
        per_label = {name: {key: float(values[i]) for key, values in scores.items()}
                     | {"support": int(tp[i] + fn[i]), "threshold": float(thresholds[i])}
                     for i, name in enumerate(names)}
        micro = label_scores(tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True))
        return {
            "num_records": n,
            "loss": self.loss_sum / n if n else 0.0,
            "micro_precision": float(micro["precision"][0]),
            "micro_recall": float(micro["recall"][0]),
            "micro_f1": float(micro["f1"][0]),
            "macro_precision": float(scores["precision"].mean()) if len(tp) else 0.0,
            "macro_recall": float(scores["recall"].mean()) if len(tp) else 0.0,
            "macro_f1": float(scores["f1"].mean()) if len(tp) else 0.0,
            "precision_at_1": self.top1_hits / n if n else 0.0,
            "subset_accuracy": self.exact / n if n else 0.0,
            "label_cardinality": float((tp + fn).sum() / n) if n else 0.0,
            "per_label": per_label,
            "classes": list(names),
        }

    def tuned(self) -> np.ndarray:
        """Per-label thresholds with the best F1 on what was added (see ``tune_thresholds``)."""
        return tune_thresholds(self.positive, self.negative)


def epoch_scores(counts: tuple[np.ndarray, np.ndarray, np.ndarray], top1_hits: int,
                 num_records: int, prefix: str = "") -> dict[str, float]:
    """The per-epoch log entries of multi-label validation from summed counts (what ranks
    can all-reduce): micro/macro F1 at the thresholds the counts were taken at, precision@1."""
    tp, fp, fn = counts
    micro = label_scores(tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True))
    return {f"{prefix}micro_f1": float(micro["f1"][0]),
            f"{prefix}macro_f1": float(label_scores(tp, fp, fn)["f1"].mean()),
            f"{prefix}precision_at_1": top1_hits / num_records if num_records else 0.0}


def _tail_sums(hist: np.ndarray) -> np.ndarray:
    """``out[:, k]`` = count in bins >= k, for k in 0..BINS (the last column is 0)."""
    tail = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]
    return np.concatenate([tail, np.zeros((len(hist), 1), np.int64)], axis=1)


def label_scores(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall and F1 per entry, 0 where undefined (scikit-learn's zero_division=0)."""
    tp, fp, fn = (np.asarray(a, np.float64) for a in (tp, fp, fn))
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    return {"precision": precision, "recall": recall, "f1": _ratio(2 * tp, 2 * tp + fp + fn)}


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.zeros(np.shape(numerator), np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def tune_thresholds(positive: np.ndarray, negative: np.ndarray,
                    default: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """One threshold per label: the bin edge with the best F1 of that label on validation.

    Per-label F1 is what macro-F1 averages, so this maximises macro-F1 on the validation data
    (and in practice helps micro-F1 too: rare labels get low thresholds). A label with no
    positive record in validation keeps ``default``: there is nothing to tune it on. Ties go
    to the highest threshold (fewest false positives).
    """
    tp = _tail_sums(positive)  # [C, BINS + 1]: predicted positive at edge k = bins >= k
    fp = _tail_sums(negative)
    fn = positive.sum(axis=1, keepdims=True) - tp
    f1 = _ratio(2.0 * tp, 2.0 * tp + fp + fn)
    best = f1.shape[1] - 1 - np.argmax(f1[:, ::-1], axis=1)
    thresholds = best / BINS
    return np.where(positive.sum(axis=1) > 0, thresholds, default)
