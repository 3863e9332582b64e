"""fastText-style classifier: the mean of (hashed) n-gram embeddings, then one linear layer.

No hidden non-linearity, exactly as fastText's supervised mode: cheap, strong on topic tasks and a
good baseline for sentiment. The tf-idf/count weights from the vectorizer weight the mean
(``per_sample_weights`` needs ``mode="sum"``, so the mean is taken by hand over the weights).
The table has a row per hash bucket (millions), so its gradient is sparse: a step updates only
the rows the batch touched (row-wise Adagrad, one state number per row: see
``textbatch.train.optim``). Its width and step size default per model (``MODEL_DEFAULTS`` in
``textbatch.config``: 32 dims, lr 0.1), not to the MLP's/sepCNN's 200-dim embedding.
"""

from __future__ import annotations

import torch
from torch import nn

from textbatch.config import ModelConfig


class NgramBag(nn.Module):
    """EmbeddingBag (weighted mean of ``embedding_dim`` vectors) -> dropout -> Linear(output)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        from textbatch.models.table import output_units

        self.embedding = nn.EmbeddingBag(config.num_features, config.embedding_dim, mode="sum",
                                         sparse=True)  # a step touches only the batch's rows
        # fastText initialises input vectors uniform in +-1/dim and the output matrix to zero.
        bound = 1.0 / config.embedding_dim
        nn.init.uniform_(self.embedding.weight, -bound, bound)
        self.dropout = nn.Dropout(config.dropout_rate)
        self.output = nn.Linear(config.embedding_dim, output_units(config.num_classes, config.multilabel))
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        summed = self.embedding(ids, offsets, per_sample_weights=weights)
        total = torch.zeros(len(offsets), dtype=weights.dtype, device=weights.device)
        rows = _row_index(offsets, len(ids))
        total.index_add_(0, rows, weights.abs())
        mean = summed / total.clamp_min(1e-6).unsqueeze(1)
        return self.output(self.dropout(mean))


def _row_index(offsets: torch.Tensor, nnz: int) -> torch.Tensor:
    """Row of every non-zero entry, from the bag start offsets."""
    ends = torch.cat([offsets[1:], offsets.new_tensor([nnz])])
    rows = torch.arange(len(offsets), device=offsets.device)
    return torch.repeat_interleave(rows, ends - offsets)
