"""The guide's sepCNN (``sepcnn_model``) for token sequences (``SparseBatch.to_tensors(length)``).

Embedding(200) -> ``blocks - 1`` x [Dropout, SepConv(filters), SepConv(filters), MaxPool(pool)]
-> SepConv(2 filters) x 2 -> GlobalAveragePooling -> Dropout -> Dense(output). The guide's loop
runs ``blocks - 1`` times and then adds the last two convolutions, so ``blocks`` counts those too.
Separable convolution = depthwise (one kernel per channel) then pointwise (1x1), as Keras's
``SeparableConv1D`` with ``padding="same"``.

Two choices differ from a literal port, both measured on SST-2 (issue 4):

* **Initialisation.** Glorot on the depthwise kernel counts all channels as its fan-in, but each
  output of a depthwise filter only sums ``kernel_size`` inputs; with zero biases every separable
  conv shrank the signal ~10x, the logit started at ~1e-6 and the lower layers' gradients fell
  under Adam's epsilon: the model stayed at chance (0.499 test accuracy). Here the depthwise
  kernel is variance-preserving over its real fan-in (``kernel_size``), the pointwise one is He
  (it feeds a relu), and biases are the guide's ``random_uniform`` (+-0.05).
* **Layout.** Activations stay ``[n, length, channels]``: the depthwise conv is ``kernel_size``
  shifted multiply-adds and the pointwise conv a matmul. PyTorch's CPU grouped ``Conv1d`` was
  the bottleneck (1.5 s per 512-record step of SST-2; ~10x less this way).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from textbatch.config import ModelConfig

BIAS_RANGE = 0.05  # Keras "random_uniform", as the guide's bias_initializer


class SeparableConv1d(nn.Module):
    """Depthwise conv (one kernel per channel, 'same' padding) then pointwise Dense, then relu.

    Takes and returns ``[n, length, channels]``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.kernel_size = kernel_size
        bound = math.sqrt(3.0 / kernel_size)  # uniform with variance 1 / fan_in
        self.depthwise = nn.Parameter(torch.empty(kernel_size, in_channels).uniform_(-bound, bound))
        self.pointwise = nn.Linear(in_channels, out_channels)
        nn.init.kaiming_uniform_(self.pointwise.weight, nonlinearity="relu")
        nn.init.uniform_(self.pointwise.bias, -BIAS_RANGE, BIAS_RANGE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[1]
        # TensorFlow's 'same': the extra pad of an even kernel goes on the right.
        left = (self.kernel_size - 1) // 2
        padded = F.pad(x, (0, 0, left, self.kernel_size - 1 - left))
        mixed = padded[:, :length] * self.depthwise[0]
        for k in range(1, self.kernel_size):
            mixed = mixed + padded[:, k : k + length] * self.depthwise[k]
        return F.relu(self.pointwise(mixed))


class SepCNN(nn.Module):
    """The guide's sepCNN; ``num_features`` is the sequence vocabulary size (ids 0 pad, 1 OOV)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        from textbatch.models.table import output_units

        self.embedding = nn.Embedding(config.num_features, config.embedding_dim)
        nn.init.uniform_(self.embedding.weight, -0.05, 0.05)  # Keras Embedding's default
        self.dropout = nn.Dropout(config.dropout_rate)
        self.pool_size = config.pool_size
        channels = config.embedding_dim
        self.blocks = nn.ModuleList()
        for _ in range(config.blocks - 1):
            self.blocks.append(nn.Sequential(
                SeparableConv1d(channels, config.filters, config.kernel_size),
                SeparableConv1d(config.filters, config.filters, config.kernel_size),
            ))
            channels = config.filters
        self.top = nn.Sequential(
            SeparableConv1d(channels, config.filters * 2, config.kernel_size),
            SeparableConv1d(config.filters * 2, config.filters * 2, config.kernel_size),
        )
        self.output = nn.Linear(config.filters * 2, output_units(config.num_classes, config.multilabel))
        nn.init.xavier_uniform_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embedding(tokens)  # [n, length, channels]
        for block in self.blocks:
            x = block(self.dropout(x))
            x = _max_pool(x, self.pool_size)
        x = self.top(x).mean(dim=1)  # global average pooling over positions
        return self.output(self.dropout(x))


def _max_pool(x: torch.Tensor, size: int) -> torch.Tensor:
    """Keras MaxPooling1D ('valid') over positions of ``[n, length, channels]``; a sequence
    shorter than the window keeps one pooled position instead of vanishing."""
    pooled = F.max_pool1d(x.transpose(1, 2), size, ceil_mode=x.shape[1] < size)
    return pooled.transpose(1, 2)
