"""The one shape vectorized data takes between the vectorizers, the cache and the models.

Strings die in the vectorizer; from here on a batch is CSR-style arrays: feature ids and weights
for every record, back to back, with ``offsets`` marking where each record starts. The n-gram MLP
and the fastText-style bag feed these straight to ``nn.EmbeddingBag`` (never a dense 20,000-wide
matrix); sepCNN asks for them padded to the batch's longest record (``sequences``).
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported where tensors are made, not by every vectorizer user
    import torch

# Per-batch padded lengths are rounded up to a multiple of this (capped at the maximum length).
# oneDNN builds and keeps convolution primitives per input shape: with every length from 1 to
# 500 a possible batch shape, a long run kept building new ones and its memory grew with its
# steps (issue 11: 1,063 MiB at 500 steps, 1,410 at 5,000). Multiples of 8 leave ~1/8 of the
# shapes and SIMD-width rows; sepCNN masks padding, so its logits do not depend on it.
PAD_MULTIPLE = 8


def padded_width(longest: int, max_length: int) -> int:
    """The width a batch whose longest record has ``longest`` ids is padded to: rounded up to a
    multiple of ``PAD_MULTIPLE``, capped at ``max_length``, at least 1."""
    rounded = -(-longest // PAD_MULTIPLE) * PAD_MULTIPLE
    return max(1, min(max_length, rounded))


@dataclass
class SparseBatch:
    """``ids`` int64 [nnz], ``weights`` float32 [nnz], ``offsets`` int64 [n + 1] (CSR indptr),
    ``labels`` int64 [n], uint8 0/1 rows [n, num_labels] for multi-label data, or None
    (unlabelled, e.g. at predict time)."""

    ids: np.ndarray
    weights: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def concat(cls, parts: list["SparseBatch"]) -> "SparseBatch":
        """Stack batches record-wise (offsets shifted, labels kept when all have them)."""
        if not parts:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(1, np.int64))
        ids = np.concatenate([p.ids for p in parts]).astype(np.int64, copy=False)
        weights = np.concatenate([p.weights for p in parts]).astype(np.float32, copy=False)
        starts = np.cumsum([0] + [p.offsets[-1] for p in parts[:-1]])
        offsets = np.concatenate(
            [parts[0].offsets[:1]] + [p.offsets[1:] + s for p, s in zip(parts, starts)]
        ).astype(np.int64, copy=False)
        labels = None
        if all(p.labels is not None for p in parts):
            labels = np.concatenate([p.labels for p in parts])
            labels = labels.astype(np.int64, copy=False) if labels.ndim == 1 else labels
        return cls(ids, weights, offsets, labels)

    def padded(self, length: int, padding: str = "pre", pad_id: int = 0) -> np.ndarray:
        """Token ids as an int64 [n, length] matrix, cut or padded like Keras ``pad_sequences``
        (``padding`` and truncation on the same side, as the guide uses them)."""
        return self._pad(length, cut=padding, align="right" if padding == "pre" else "left",
                         pad_id=pad_id)

    def sequences(self, max_length: int, cut: str = "pre") -> np.ndarray:
        """Token ids padded only to this batch's longest record rounded up to a multiple of
        ``PAD_MULTIPLE`` (at most ``max_length``), records left-aligned with the padding after
        them, long records cut on the ``cut`` side ("pre" keeps their end, as the guide's
        truncation). What sepCNN's masked layers take: a batch of short records costs
        short-record compute (issue 11), in few distinct shapes."""
        return self._pad(self.sequence_width(max_length), cut=cut, align="left")

    def sequence_width(self, max_length: int) -> int:
        """The width ``sequences(max_length)`` pads to: the longest record rounded up to a
        multiple of ``PAD_MULTIPLE``, capped at ``max_length``, at least 1."""
        return padded_width(int(np.diff(self.offsets).max()) if len(self) else 0, max_length)

    def _pad(self, length: int, cut: str, align: str, pad_id: int = 0) -> np.ndarray:
        """[n, length] ids: each record cut to ``length`` on the ``cut`` side ("pre" keeps its
        end), placed at the ``align`` side of its row, the rest ``pad_id``."""
        lengths = np.diff(self.offsets)
        kept = np.minimum(lengths, length)
        rows = np.repeat(np.arange(len(self)), kept)
        first = self.offsets[:-1] + (lengths - kept if cut == "pre" else 0)
        within = np.arange(int(kept.sum())) - np.repeat(np.cumsum(kept) - kept, kept)
        column = within + (np.repeat(length - kept, kept) if align == "right" else 0)
        out = np.full((len(self), length), pad_id, dtype=np.int64)
        out[rows, column] = self.ids[np.repeat(first, kept) + within]
        return out

    def to_tensors(
        self, sequence_length: int | None = None, padding: str = "pre"
    ) -> "tuple[dict[str, torch.Tensor], torch.Tensor | None]":
        """Model inputs and labels. Bag models take ``ids/offsets/weights``; with
        ``sequence_length`` the inputs are ``{"tokens": [n, length]}`` for sepCNN, ``length``
        this batch's longest record rounded up to a multiple of ``PAD_MULTIPLE`` and capped at
        ``sequence_length`` (see ``sequences``)."""
        import torch

        labels = None if self.labels is None else torch.from_numpy(np.asarray(self.labels, np.int64))
        # multi-label rows come out as int64 [n, C] too: the loss casts them to its float dtype
        if sequence_length is not None:
            return {"tokens": torch.from_numpy(self.sequences(sequence_length, padding))}, labels
        inputs = {
            "ids": torch.from_numpy(np.ascontiguousarray(self.ids, dtype=np.int64)),
            "offsets": torch.from_numpy(np.ascontiguousarray(self.offsets[:-1], dtype=np.int64)),
            "weights": torch.from_numpy(np.ascontiguousarray(self.weights, dtype=np.float32)),
        }
        return inputs, labels
