"""Adam for dense parameters, row-wise Adagrad for embeddings with sparse gradients.

The fastText-style n-gram bag model has millions of hashed buckets but a batch touches only a few
thousand rows; a sparse gradient updates just those rows, so a step costs what the batch holds,
not what the table holds. ``torch.optim.Adam`` refuses sparse gradients, hence two optimizers
behind one object with the optimizer interface the trainer and checkpoints use.

The sparse one is row-wise Adagrad (one accumulator per row, as TorchRec/FBGEMM use for large
embedding tables), not ``SparseAdam``: SparseAdam keeps two more tables the size of the weights
(2M buckets x 200 dims: +3.2 GB, and every checkpoint saved them), row-wise Adagrad one number
per row (8 MB), with the same per-row step size normalisation (issue 4).

Neither derives from ``torch.optim.Optimizer``: its ``step`` and ``add_param_group`` import
``torch._dynamo`` on first use, which costs more than a whole small training run (issue 12:
1.5-2 s of a 5k-row run). Both keep torch's ``state_dict`` layout (``state`` keyed by parameter
index, ``param_groups`` with ``params`` indices), so checkpoints read the same.
"""

from __future__ import annotations

from typing import Any, Iterable

import torch
from torch import nn


class PlainOptimizer:
    """The part of ``torch.optim.Optimizer`` the trainer, schedules and checkpoints use:
    ``param_groups`` (dicts with ``lr``), per-parameter ``state``, ``zero_grad`` and
    ``state_dict``/``load_state_dict`` in torch's layout."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]):
        params = list(params)
        groups = params if params and isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups = [{**defaults, **g, "params": list(g["params"])} for g in groups]
        self.state: dict[torch.Tensor, dict[str, Any]] = {}

    def _params(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for param in self._params():
            if param.grad is not None:
                if set_to_none:
                    param.grad = None
                else:
                    param.grad.zero_()

    def state_dict(self) -> dict[str, Any]:
        index = {id(p): i for i, p in enumerate(self._params())}
        groups, start = [], 0
        for group in self.param_groups:
            count = len(group["params"])
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": list(range(start, start + count))})
            start += count
        state = {index[id(p)]: dict(s) for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        params = self._params()
        saved = state_dict["param_groups"]
        if [len(g["params"]) for g in saved] != [len(g["params"]) for g in self.param_groups]:
            raise ValueError("loaded state dict has a different number of parameters")
        for group, loaded in zip(self.param_groups, saved):
            group.update({k: v for k, v in loaded.items() if k != "params"})
        self.state = {}
        for key, slots in state_dict["state"].items():
            param = params[int(key)]
            self.state[param] = {k: v.to(param.device) if torch.is_tensor(v) and v.dim() else v
                                 for k, v in slots.items()}


class Adam(PlainOptimizer):
    """Adam (Kingma & Ba) without weight decay or amsgrad: the very update of
    ``torch.optim.Adam(fused=True)``, by calling the same fused kernel (``aten::_fused_adam_``,
    one pass over each parameter; the four in-place ops of the textbook form cost 5x more)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if any(p.grad.is_sparse for p in params):
                raise ValueError("Adam needs dense gradients; use RowwiseAdagrad for sparse ones.")
            for param in params:
                if param not in self.state:
                    self.state[param] = {"step": torch.tensor(0.0),
                                         "exp_avg": torch.zeros_like(param),
                                         "exp_avg_sq": torch.zeros_like(param)}
            if not params:
                continue
            states = [self.state[p] for p in params]
            for state in states:  # the kernel reads the step count; torch bumps it outside too
                state["step"] += 1
            torch._fused_adam_(
                params, [p.grad for p in params], [s["exp_avg"] for s in states],
                [s["exp_avg_sq"] for s in states], [], [s["step"] for s in states],
                amsgrad=False, lr=group["lr"], beta1=group["betas"][0], beta2=group["betas"][1],
                weight_decay=0.0, eps=group["eps"], maximize=False, grad_scale=None,
                found_inf=None)


def sparse_parameters(model: nn.Module) -> set[int]:
    """ids of the weights of embeddings built with ``sparse=True``."""
    return {id(m.weight) for m in model.modules()
            if isinstance(m, (nn.Embedding, nn.EmbeddingBag)) and m.sparse}


class RowwiseAdagrad(PlainOptimizer):
    """Adagrad with one squared-gradient sum per embedding row, for sparse gradients only.

    ``row_sum += mean(g_row ** 2)``; ``row -= lr * g_row / (sqrt(row_sum) + eps)``, touching
    only the rows in the gradient.
    """

    def __init__(self, params: Any, lr: float, eps: float = 1e-10):
        super().__init__(params, {"lr": lr, "eps": eps})

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if not param.grad.is_sparse:
                    raise ValueError("RowwiseAdagrad needs sparse gradients (an embedding "
                                     "built with sparse=True); use Adam for dense ones.")
                grad = param.grad.coalesce()  # duplicate rows of a batch summed
                rows, values = grad.indices()[0], grad.values()
                state = self.state.setdefault(param, {})
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
            self.optimizers.append(Adam(dense, lr=lr))
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
