"""The guide's n-gram MLP, fed the sparse tf-idf batch directly.

The guide densifies a 20,000-wide tf-idf matrix and multiplies it by its first Dense kernel. That
product only touches the non-zero columns, so ``nn.EmbeddingBag(mode="sum")`` with the tf-idf
values as ``per_sample_weights`` computes exactly the same thing (plus a bias) without ever
materialising the dense row. Dropout on the input, as the guide's first ``Dropout`` layer, drops
individual non-zero entries — dropping a zero is a no-op, so this is the same distribution.

On CPU the table's gradient ``X^T @ grad`` is computed by scipy's CSR kernel (one scatter pass over
the batch's non-zeros) instead of ``embedding_bag``'s backward, which sorts the indices and took
45 ms of CPU per IMDB step on one thread and 196 ms on two (issue 12); scipy takes 10-15 ms. The
gradient is the same dense tensor, so Adam and checkpoints see no difference.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from textbatch.config import ModelConfig
from textbatch.models.fused import dropout


class SparseLinear(nn.Module):
    """``x @ W + b`` for a CSR batch: ``EmbeddingBag`` sum of weighted rows of ``W`` plus bias."""

    def __init__(self, num_features: int, units: int):
        super().__init__()
        # Dense gradient: a batch of 512 reviews touches most of 20k-100k features, and
        # coalescing a sparse one costs more (IMDB, top_k 100k: 154 vs 91 ms per step).
        self.bag = nn.EmbeddingBag(num_features, units, mode="sum")
        self.bias = nn.Parameter(torch.zeros(units))
        # Keras Dense's glorot_uniform; EmbeddingBag's N(0, 1) default costs ~3 points on IMDB.
        nn.init.xavier_uniform_(self.bag.weight)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        table = self.bag.weight
        if table.device.type == "cpu" and table.requires_grad and not weights.requires_grad:
            return _CsrBagSum.apply(ids, offsets, weights, table) + self.bias
        return self.bag(ids, offsets, per_sample_weights=weights) + self.bias


class _CsrBagSum(torch.autograd.Function):
    """``embedding_bag(mode="sum")`` forward; backward ``X^T @ grad`` with scipy's CSR kernel
    (X: the batch as a CSR matrix of ``weights`` at ``ids``)."""

    @staticmethod
    def forward(ctx, ids, offsets, weights, table):  # type: ignore[override]
        ctx.save_for_backward(ids, offsets, weights)
        ctx.num_features = table.shape[0]
        return F.embedding_bag(ids, table, offsets, mode="sum", per_sample_weights=weights)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        import scipy.sparse

        ids, offsets, weights = ctx.saved_tensors
        pointers = np.append(offsets.numpy(), len(ids))
        batch = scipy.sparse.csr_matrix((weights.numpy(), ids.numpy(), pointers),
                                        shape=(len(offsets), ctx.num_features))
        grad = grad.detach().to(weights.dtype).contiguous().numpy()
        return None, None, None, torch.from_numpy(np.ascontiguousarray(batch.T @ grad))


class MLP(nn.Module):
    """Dropout -> [Dense(units, relu) -> Dropout] x (layers - 1) -> Dense(output), like the
    guide's ``mlp_model``: ``layers`` counts the dense layers including the output one.

    ``one_thread``: its CPU step is a sparse scatter/gather plus tiny dense layers, which gain
    nothing from intra-op threads and lose to their spin-waits when cores are shared (IMDB step
    under load: 27 ms CPU on one thread, 77 ms on two; wall 125 vs 368 ms), so the trainer runs
    it on one thread.
    """

    one_thread = True

    def __init__(self, config: ModelConfig):
        super().__init__()
        from textbatch.models.table import output_units

        out = output_units(config.num_classes, config.multilabel)
        self.dropout_rate = config.dropout_rate
        first = config.units if config.layers > 1 else out
        self.first = SparseLinear(config.num_features, first)
        hidden = []
        for index in range(config.layers - 1):
            last = index == config.layers - 2
            hidden.append(nn.Linear(config.units, out if last else config.units))
        self.hidden = nn.ModuleList(hidden)
        for layer in self.hidden:
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        weights = dropout(weights, self.dropout_rate, self.training)
        x = self.first(ids, offsets, weights)
        for layer in self.hidden:
            x = dropout(F.relu(x), self.dropout_rate, self.training)
            x = layer(x)
        return x
