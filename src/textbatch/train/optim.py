"""Adam for dense parameters, row-wise Adagrad for embeddings with sparse gradients.

The fastText-style n-gram bag model has millions of hashed buckets but a batch touches only a few
thousand rows; a sparse gradient updates just those rows, so a step costs what the batch holds,
not what the table holds. ``torch.optim.Adam`` refuses sparse gradients, hence two optimizers
behind one object with the optimizer interface the trainer and checkpoints use.

The sparse one is row-wise Adagrad (one accumulator per row, as TorchRec/FBGEMM use for large
embedding tables), not ``SparseAdam``: SparseAdam keeps two more tables the size of the weights
(2M buckets x 200 dims: +3.2 GB, and every checkpoint saved them), row-wise Adagrad one number
per row (8 MB), with the same per-row step size normalisation (issue 4).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def sparse_parameters(model: nn.Module) -> set[int]:
    """ids of the weights of embeddings built with ``sparse=True``."""
    return {id(m.weight) for m in model.modules()
            if isinstance(m, (nn.Embedding, nn.EmbeddingBag)) and m.sparse}


class RowwiseAdagrad(torch.optim.Optimizer):
    """Adagrad with one squared-gradient sum per embedding row, for sparse gradients only.

    ``row_sum += mean(g_row ** 2)``; ``row -= lr * g_row / (sqrt(row_sum) + eps)``, touching
    only the rows in the gradient.
    """

    def __init__(self, params: Any, lr: float, eps: float = 1e-10):
        super().__init__(params, {"lr": lr, "eps": eps})

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if not param.grad.is_sparse:
                    raise ValueError("RowwiseAdagrad needs sparse gradients (an embedding "
                                     "built with sparse=True); use Adam for dense ones.")
                grad = param.grad.coalesce()  # duplicate rows of a batch summed
                rows, values = grad.indices()[0], grad.values()
                state = self.state[param]
                if not state:
                    state["row_sum"] = torch.zeros(param.shape[0], device=param.device)
                state["row_sum"].index_add_(0, rows, values.pow(2).mean(dim=1))
                scale = group["lr"] / (state["row_sum"][rows].sqrt() + group["eps"])
                param.index_add_(0, rows, values * -scale.unsqueeze(1))


class AdamPair:
    """``Adam`` over dense parameters plus ``RowwiseAdagrad`` over sparse ones, stepped
    together."""

    def __init__(self, model: nn.Module, lr: float):
        sparse_ids = sparse_parameters(model)
        params = [p for p in model.parameters() if p.requires_grad]
        dense = [p for p in params if id(p) not in sparse_ids]
        sparse = [p for p in params if id(p) in sparse_ids]
        self.optimizers = []
        if dense:
            self.optimizers.append(torch.optim.Adam(dense, lr=lr, fused=True))  # one kernel
        if sparse:
            self.optimizers.append(RowwiseAdagrad(sparse, lr=lr))

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
