"""The guide's sepCNN (``sepcnn_model``) for token sequences (``SparseBatch.to_tensors(length)``).

Embedding(200) -> ``blocks - 1`` x [Dropout, SepConv(filters), SepConv(filters), MaxPool(pool)]
-> SepConv(2 filters) x 2 -> GlobalAveragePooling -> Dropout -> Dense(output). The guide's loop
runs ``blocks - 1`` times and then adds the last two convolutions, so ``blocks`` counts those too.
Separable convolution = depthwise (one kernel per channel) then pointwise (1x1), as Keras's
``SeparableConv1D`` with ``padding="same"``.

Choices that differ from a literal port:

* **Initialisation** (measured on SST-2, issue 4). Glorot on the depthwise kernel counts all
  channels as its fan-in, but each output of a depthwise filter only sums ``kernel_size`` inputs;
  with zero biases every separable conv shrank the signal ~10x and the model stayed at chance
  (0.499 test accuracy). Here the depthwise kernel is variance-preserving over its real fan-in
  (``kernel_size``), the pointwise one is He (it feeds a relu), and biases are the guide's
  ``random_uniform`` (+-0.05).
* **Padding is masked** (issue 11). Token id 0 is padding: its embedding is zero, every conv
  output is zeroed there again, a pooled position is real when its window starts on a real
  token (``ceil_mode``: a short tail window is kept), and the global average is over real
  positions only. A record's logits therefore do not depend on how far its batch is padded, so
  batches can be padded to their own longest record (``to_tensors``) and built from records of
  similar length without changing what the model computes. Records must be left-aligned
  (padding after the tokens), as ``SparseBatch.to_tensors`` makes them; the guide's pre/post
  choice still decides which end of a long text is cut.
* **Layout.** Activations stay ``[n, length, channels]``; the depthwise conv reads them as a
  channels-last ``[n, channels, 1, length]`` image (a view, no copy) for oneDNN's grouped NHWC
  kernel and the pointwise conv is one matmul. On this 2-core CPU that layer ran ~2x faster than
  ``kernel_size`` shifted multiply-adds and than a channels-first grouped ``conv1d`` (issue 11).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from textbatch.config import ModelConfig
from textbatch.models.fused import dropout, masked_relu

BIAS_RANGE = 0.05  # Keras "random_uniform", as the guide's bias_initializer
PADDING_ID = 0


class SeparableConv1d(nn.Module):
    """Depthwise conv (one kernel per channel, 'same' zero padding), pointwise Dense, relu.

    Takes and returns ``[n, length, channels]``; ``mask`` ``[n, length, 1]`` (float, 1 real, 0
    padding; None when no position is padding) zeroes the padded positions of the output.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.kernel_size = kernel_size
        bound = math.sqrt(3.0 / kernel_size)  # uniform with variance 1 / fan_in
        self.depthwise = nn.Parameter(torch.empty(kernel_size, in_channels).uniform_(-bound, bound))
        self.pointwise = nn.Linear(in_channels, out_channels)
        nn.init.kaiming_uniform_(self.pointwise.weight, nonlinearity="relu")
        nn.init.uniform_(self.pointwise.bias, -BIAS_RANGE, BIAS_RANGE)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        channels, size = x.shape[2], self.kernel_size
        # TensorFlow's 'same': the extra pad of an even kernel goes on the right.
        left = (size - 1) // 2
        if size % 2 == 0:
            x = F.pad(x, (0, 0, left, size - 1 - left))
        image = x.transpose(1, 2).unsqueeze(2)  # [n, channels, 1, length], channels-last memory
        kernel = self.depthwise.t().reshape(channels, 1, 1, size)
        mixed = F.conv2d(image, kernel, padding=(0, left if size % 2 else 0), groups=channels)
        return masked_relu(self.pointwise(mixed.squeeze(2).transpose(1, 2)), mask)


class SepCNN(nn.Module):
    """The guide's sepCNN; ``num_features`` is the sequence vocabulary size (ids 0 pad, 1 OOV)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        from textbatch.models.table import output_units

        self.embedding = nn.Embedding(config.num_features, config.embedding_dim,
                                      padding_idx=PADDING_ID)
        with torch.no_grad():
            nn.init.uniform_(self.embedding.weight, -0.05, 0.05)  # Keras Embedding's default
            self.embedding.weight[PADDING_ID].zero_()
        self.dropout_rate = config.dropout_rate
        self.pool_size = config.pool_size
        channels = config.embedding_dim
        self.blocks = nn.ModuleList()
        for _ in range(config.blocks - 1):
            self.blocks.append(nn.ModuleList([
                SeparableConv1d(channels, config.filters, config.kernel_size),
                SeparableConv1d(config.filters, config.filters, config.kernel_size),
            ]))
            channels = config.filters
        self.top = nn.ModuleList([
            SeparableConv1d(channels, config.filters * 2, config.kernel_size),
            SeparableConv1d(config.filters * 2, config.filters * 2, config.kernel_size),
        ])
        self.output = nn.Linear(config.filters * 2,
                                output_units(config.num_classes, config.multilabel))
        nn.init.xavier_uniform_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        real = tokens != PADDING_ID
        # [n, length, 1]; None when nothing is padding (e.g. a bucket of reviews cut at 500).
        # (the all-real check is skipped on GPUs: it would wait for the device every step)
        skip = not tokens.is_cuda and bool(real.all())
        mask = None if skip else real.unsqueeze(2).to(torch.float32)
        x = self.embedding(tokens)  # [n, length, channels]; padding rows are zero
        for block in self.blocks:
            x = dropout(x, self.dropout_rate, self.training)
            for conv in block:
                x = conv(x, mask)
            x, mask = _max_pool(x, mask, self.pool_size)
        for conv in self.top:
            x = conv(x, mask)
        # Global average pooling over real positions (an all-padding row averages to 0).
        count = x.shape[1] if mask is None else mask.sum(dim=1).clamp_min(1)
        x = x.sum(dim=1) / count
        return self.output(dropout(x, self.dropout_rate, self.training))


def _max_pool(x: torch.Tensor, mask: torch.Tensor | None, size: int
              ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """MaxPooling1D over positions of ``[n, length, channels]`` (relu outputs with padding
    zeroed, so padding never wins a window); a window is real when it starts on a real position
    (``ceil_mode``: a short tail window is kept, so a record shorter than one window survives)."""
    image = x.transpose(1, 2).unsqueeze(2)  # channels-last view, as in SeparableConv1d
    pooled = F.max_pool2d(image, (1, size), ceil_mode=True).squeeze(2).transpose(1, 2)
    return pooled, None if mask is None else mask[:, ::size][:, : pooled.shape[1]]
