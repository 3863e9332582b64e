"""One dict from model name to builder; an unknown name lists the known ones."""

from __future__ import annotations

from typing import Callable

from torch import nn

from textbatch.config import ModelConfig
from textbatch.errors import ConfigError
from textbatch.models.mlp import MLP
from textbatch.models.ngram_bag import NgramBag
from textbatch.models.sepcnn import SepCNN

MODELS: dict[str, Callable[[ModelConfig], nn.Module]] = {
    "mlp": MLP,
    "sepcnn": SepCNN,
    "ngram-bag": NgramBag,
}

# What each model eats: a bag of weighted feature ids, or padded token sequences.
INPUT_KINDS = {"mlp": "bag", "sepcnn": "sequence", "ngram-bag": "bag"}


def output_units(num_classes: int) -> int:
    """One logit for two classes (sigmoid + BCE, as the guide's last layer), else one per class."""
    if num_classes < 2:
        raise ConfigError(f"A classifier needs at least 2 classes. Got {num_classes}; "
                          "check the label column of the training data.")
    return 1 if num_classes == 2 else num_classes


def input_kind(name: str) -> str:
    """``"bag"`` or ``"sequence"``: which tensors ``SparseBatch.to_tensors`` must produce."""
    _check_known(name)
    return INPUT_KINDS[name]


def build_model(config: ModelConfig) -> nn.Module:
    """Build the architecture ``config.name`` with ``num_features``/``num_classes`` from the data."""
    _check_known(config.name)
    if config.num_features < 1:
        raise ConfigError(f"ModelConfig.num_features must be >= 1 (fill it from the fitted "
                          f"vectorizer). Got {config.num_features}.")
    output_units(config.num_classes)
    return MODELS[config.name](config)


def _check_known(name: str) -> None:
    if name not in MODELS:
        raise ConfigError(f"Unknown model {name!r}. Known: {sorted(MODELS)}.")
