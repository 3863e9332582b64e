"""Builds a model from its ``ModelSpec`` (``textbatch.models.table``); an unknown name lists the
known ones."""

from __future__ import annotations

import importlib

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
    model.head(config.num_classes)
    module, name = model.builder.split(":")
    return getattr(importlib.import_module(module), name)(config)
