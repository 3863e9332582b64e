"""Adam for dense parameters, SparseAdam for embeddings with sparse gradients.

The fastText-style ngram-bag has millions of hashed buckets but a batch touches only a few
thousand rows; a sparse gradient updates just those rows, so a step costs what the batch holds,
not what the table holds. ``torch.optim.Adam`` refuses sparse gradients, hence two optimizers
behind one object with the optimizer interface the trainer and checkpoints use.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def sparse_parameters(model: nn.Module) -> set[int]:
    """ids of the weights of embeddings built with ``sparse=True``."""
    return {id(m.weight) for m in model.modules()
            if isinstance(m, (nn.Embedding, nn.EmbeddingBag)) and m.sparse}


class AdamPair:
    """``Adam`` over dense parameters plus ``SparseAdam`` over sparse ones, stepped together."""

    def __init__(self, model: nn.Module, lr: float):
        sparse_ids = sparse_parameters(model)
        params = [p for p in model.parameters() if p.requires_grad]
        dense = [p for p in params if id(p) not in sparse_ids]
        sparse = [p for p in params if id(p) in sparse_ids]
        self.optimizers = []
        if dense:
            self.optimizers.append(torch.optim.Adam(dense, lr=lr, fused=True))  # one kernel
        if sparse:
            self.optimizers.append(torch.optim.SparseAdam(sparse, lr=lr))

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return [group for opt in self.optimizers for group in opt.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for opt in self.optimizers:
            opt.step()

    def state_dict(self) -> dict[str, Any]:
        return {"optimizers": [opt.state_dict() for opt in self.optimizers]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        parts = state["optimizers"]
        if len(parts) != len(self.optimizers):
            raise ValueError(f"optimizer state has {len(parts)} parts; this model needs "
                             f"{len(self.optimizers)}.")
        for opt, part in zip(self.optimizers, parts):
            opt.load_state_dict(part)
