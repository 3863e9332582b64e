"""Builds a model from its ``ModelSpec`` (``textbatch.models.table``); an unknown name lists the
known ones."""

from __future__ import annotations

import importlib
from typing import Sequence

from torch import nn

from textbatch.config import ModelConfig
from textbatch.errors import ConfigError
from textbatch.models.table import spec


def build_model(config: ModelConfig) -> nn.Module:
    """Build the architecture ``config.name`` with ``num_features``/``num_classes`` from the data."""
    model = spec(config.name)
    if config.num_features < 1:
        raise ConfigError(f"ModelConfig.num_features must be >= 1 (fill it from the fitted "
                          f"vectorizer). Got {config.num_features}.")
    (model.multilabel_head if config.multilabel else model.head)(config.num_classes)
    return model_class(config.name)(config)


def model_class(name: str) -> type[nn.Module]:
    """The class that builds the architecture ``name`` (from the model table's builder)."""
    module, attribute = spec(name).builder.split(":")
    return getattr(importlib.import_module(module), attribute)



def set_output_bias(model: nn.Module, bias: Sequence[float]) -> None:
    """Start the output logits at ``bias`` (the last layer with a bias of that size).

    Multi-label training starts every label at its log-odds in the training data: with 28
    sigmoids at 0.5 the first epochs only learn that most labels are rare (GoEmotions: val_loss
    0.16 after one epoch from zeros), the prior is known from the manifest for free.
    """
    import torch

    size = len(bias)
    layers = [m for m in model.modules()
              if isinstance(getattr(m, "bias", None), nn.Parameter) and m.bias.shape == (size,)]
    if not layers:
        raise ConfigError(f"{type(model).__name__} has no output layer with {size} biases.")
    with torch.no_grad():
        layers[-1].bias.copy_(torch.as_tensor(list(bias), dtype=layers[-1].bias.dtype))
