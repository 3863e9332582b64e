"""Keras 3 front end: textbatch's batch streams as ``keras.utils.PyDataset`` + the guide's models.

Owns the hand-over to Keras only: turning a ``SparseBatch`` into the arrays a Keras model eats
(dense tf-idf rows, padded ids + weights, or padded token sequences), keeping Keras's parallel
``fit`` exactly-once per epoch, and the guide's ``mlp_model`` / ``sepcnn_model``. Reading, the
epoch plan and the shuffle belong to ``textbatch.data``; vocabularies and weights to
``textbatch.features``; the training loop to Keras itself.

Keras is an optional extra (``pip install 'textbatch[keras]'``). Nothing here imports it until a
name is first used, so ``import textbatch.keras`` is free and a missing Keras fails with the
install hint instead of a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib
from typing import Any

INSTALL_HINT = "pip install 'textbatch[keras]'"

# Public name -> submodule that defines it. Every submodule imports Keras at its top.
_EXPORTS = {
    "BatchSequence": "textbatch.keras.sequence",
    "OUTPUTS": "textbatch.keras.sequence",
    "to_keras_inputs": "textbatch.keras.sequence",
    "text_sequences": "textbatch.keras.build",
    "cache_sequences": "textbatch.keras.build",
    "KerasData": "textbatch.keras.build",
    "mlp_model": "textbatch.keras.models",
    "sepcnn_model": "textbatch.keras.models",
    "compile_model": "textbatch.keras.models",
}

__all__ = ["INSTALL_HINT", "require_keras", *_EXPORTS]


def require_keras() -> Any:
    """Import Keras 3 or raise an ImportError that says how to install it."""
    try:
        import keras
    except ImportError as error:
        raise ImportError(f"textbatch.keras needs Keras 3, which could not be imported ({error}). "
                          f"Run: {INSTALL_HINT}") from error
    major = int(str(getattr(keras, "__version__", "0")).split(".")[0])
    if major < 3:
        raise ImportError(f"textbatch.keras needs Keras 3; found Keras {keras.__version__}. "
                          f"Run: {INSTALL_HINT}")
    return keras


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'textbatch.keras' has no attribute {name!r}")
    require_keras()
    return getattr(importlib.import_module(_EXPORTS[name]), name)
