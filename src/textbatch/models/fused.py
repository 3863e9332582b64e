"""Dropout and masked relu that cost one memory pass each way on a CPU (issue 11).

Profiled on IMDB's sepCNN (2-core CPU, batches of 128 x ~200 tokens), torch's CPU dropout drew
its mask with ``bernoulli_`` at ~9 ns per element: 28% of a training step went to the one
dropout over the ``[n, length, 200]`` embeddings. Here the mask comes from numpy's PCG64 as
raw 16-bit integers (~0.3 ns per element), seeded from torch's default generator, so
``torch.manual_seed`` and the checkpointed torch RNG state still decide every mask (exact
resume keeps working) and nothing else holds random state. GPUs keep ``F.dropout``.

``masked_relu`` is ``relu(z) * mask`` with the multiply done in place and a backward that is
one ``threshold_backward`` (the mask's own backward multiply is folded into it): the padding
mask of every separable convolution used to add two full passes per step.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

_LEVELS = 1 << 16  # a dropped element is one whose 16-bit draw falls under rate * 2**16


def _keep_scale(shape: torch.Size, rate: float, dtype: torch.dtype) -> torch.Tensor:
    """``shape`` of 0 (dropped) and 1 / keep-probability (kept), in ``dtype``."""
    threshold = round(rate * _LEVELS)
    seed = int(torch.randint(0, 2**62, (), dtype=torch.int64))
    count = math.prod(shape)
    raw = np.random.PCG64(seed).random_raw((count + 3) // 4)  # 64 random bits: 4 draws each
    draws = torch.from_numpy(raw.view(np.int16)[:count]).view(shape)  # -2**15..2**15-1
    keep = torch.empty(shape, dtype=dtype)
    torch.ge(draws, threshold - _LEVELS // 2, out=keep)
    return keep.mul_(_LEVELS / (_LEVELS - threshold))  # 1 / the quantized rate's keep chance


class _Dropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, rate: float) -> torch.Tensor:
        keep = _keep_scale(x.shape, rate, x.dtype)
        ctx.save_for_backward(keep)
        return x * keep

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (keep,) = ctx.saved_tensors
        return grad * keep, None


def dropout(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """``F.dropout(x, rate, training)``; on a CPU with the cheap mask above."""
    if not training or rate <= 0.0:
        return x
    if x.device.type != "cpu" or round(rate * _LEVELS) >= _LEVELS or not x.is_floating_point():
        return F.dropout(x, rate, training)  # GPUs, and rates within 2**-17 of 1
    if not x.requires_grad:  # e.g. the MLP's input tf-idf values
        return x * _keep_scale(x.shape, rate, x.dtype)
    return _Dropout.apply(x, rate)


class _MaskedRelu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = torch.relu(z).mul_(mask)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (out,) = ctx.saved_tensors
        # d/dz relu(z) * mask is 1 exactly where the output is positive.
        return torch.ops.aten.threshold_backward(grad, out, 0.0), None


def masked_relu(z: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``relu(z) * mask`` (``mask`` float 0/1, broadcast over channels; None: no padding)."""
    if mask is None:
        return F.relu(z)
    if not z.requires_grad:
        return torch.relu(z).mul_(mask)
    return _MaskedRelu.apply(z, mask)
