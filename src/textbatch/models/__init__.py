"""The guide's models in PyTorch, the one model table and the registry that builds from it.

Owns architectures only: every model takes the tensors of ``SparseBatch.to_tensors`` and returns
logits ``[n, 1]`` for two classes (trained with BCE) or ``[n, C]`` (cross-entropy). Which models
exist, what each eats and its defaults: ``textbatch.models.table`` (free to import: no torch).
Losses, optimizers and loops belong to ``textbatch.train``; vectorizing to ``textbatch.features``.
"""

from __future__ import annotations

import importlib
from typing import Any

from textbatch.models.table import (
    MODEL_NAMES,
    MODEL_TABLE,
    ModelSpec,
    input_kind,
    output_units,
    spec,
)

# Names whose module imports torch: loaded on first use, so reading the table stays light.
_LAZY = {"build_model": "textbatch.models.registry",
         "batch_probabilities": "textbatch.models.predict",
         "probabilities": "textbatch.models.predict"}

__all__ = ["MODEL_NAMES", "MODEL_TABLE", "ModelSpec", "input_kind", "output_units", "spec", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'textbatch.models' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
