"""The one shape vectorized data takes between the vectorizers, the cache and the models.

Strings die in the vectorizer; from here on a batch is CSR-style arrays: feature ids and weights
for every record, back to back, with ``offsets`` marking where each record starts. The n-gram MLP
and the fastText-style bag feed these straight to ``nn.EmbeddingBag`` (never a dense 20,000-wide
matrix); sepCNN asks for them padded to ``max_sequence_length``.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported where tensors are made, not by every vectorizer user
    import torch


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
        out = np.full((len(self), length), pad_id, dtype=np.int64)
        for row in range(len(self)):
            seq = self.ids[self.offsets[row] : self.offsets[row + 1]]
            seq = seq[-length:] if padding == "pre" else seq[:length]
            if padding == "pre":
                out[row, length - len(seq) :] = seq
            else:
                out[row, : len(seq)] = seq
        return out

    def to_tensors(
        self, sequence_length: int | None = None, padding: str = "pre"
    ) -> "tuple[dict[str, torch.Tensor], torch.Tensor | None]":
        """Model inputs and labels. Bag models take ``ids/offsets/weights``; with
        ``sequence_length`` the inputs are ``{"tokens": [n, sequence_length]}`` for sepCNN."""
        import torch

        labels = None if self.labels is None else torch.from_numpy(np.asarray(self.labels, np.int64))
        # multi-label rows come out as int64 [n, C] too: the loss casts them to its float dtype
        if sequence_length is not None:
            return {"tokens": torch.from_numpy(self.padded(sequence_length, padding))}, labels
        inputs = {
            "ids": torch.from_numpy(np.ascontiguousarray(self.ids, dtype=np.int64)),
            "offsets": torch.from_numpy(np.ascontiguousarray(self.offsets[:-1], dtype=np.int64)),
            "weights": torch.from_numpy(np.ascontiguousarray(self.weights, dtype=np.float32)),
        }
        return inputs, labels
