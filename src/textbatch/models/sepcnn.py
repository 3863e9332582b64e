"""The guide's sepCNN (``sepcnn_model``) for token sequences (``SparseBatch.to_tensors(length)``).

Embedding(200) -> ``blocks - 1`` x [Dropout, SepConv(filters), SepConv(filters), MaxPool(pool)]
-> SepConv(2 filters) x 2 -> GlobalAveragePooling -> Dropout -> Dense(output). The guide's loop
runs ``blocks - 1`` times and then adds the last two convolutions, so ``blocks`` counts those too.
Separable convolution = depthwise (groups=channels) then pointwise (1x1), as Keras's
``SeparableConv1D`` with ``padding="same"``; kernels are glorot-uniform like Keras.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from textbatch.config import ModelConfig


class SeparableConv1d(nn.Module):
    """Depthwise conv (one kernel per channel) then a 1x1 pointwise conv; relu after, 'same' pad."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.depthwise = nn.Conv1d(in_channels, in_channels, kernel_size, padding="same",
                                   groups=in_channels, bias=False)
        self.pointwise = nn.Conv1d(in_channels, out_channels, 1)
        for conv in (self.depthwise, self.pointwise):
            nn.init.xavier_uniform_(conv.weight)
        nn.init.zeros_(self.pointwise.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.pointwise(self.depthwise(x)))


class SepCNN(nn.Module):
    """The guide's sepCNN; ``num_features`` is the sequence vocabulary size (ids 0 pad, 1 OOV)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        from textbatch.models.registry import output_units

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
        self.output = nn.Linear(config.filters * 2, output_units(config.num_classes))
        nn.init.xavier_uniform_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embedding(tokens).transpose(1, 2)  # [n, channels, length]
        for block in self.blocks:
            x = block(self.dropout(x))
            x = F.max_pool1d(x, self.pool_size, ceil_mode=x.shape[-1] < self.pool_size)
        x = self.top(x).mean(dim=2)  # global average pooling
        return self.output(self.dropout(x))
