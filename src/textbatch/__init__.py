"""textbatch: train text classifiers on data sets larger than memory.

Public API only; heavy modules (torch, pyarrow) are imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textbatch.version import __version__

__all__ = ["load", "__version__"]

if TYPE_CHECKING:
    from textbatch.artifacts import Classifier


def load(directory: str) -> "Classifier":
    """Load a trained classifier saved by ``textbatch train`` (``DIR`` or ``DIR/model``)."""
    from textbatch.artifacts import load_classifier

    return load_classifier(directory)


def __getattr__(name: str) -> Any:
    raise AttributeError(f"module 'textbatch' has no attribute {name!r}")
