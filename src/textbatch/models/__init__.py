"""The guide's models in PyTorch, and the one registry that builds them.

Owns architectures only: every model takes the tensors of ``SparseBatch.to_tensors`` and returns
logits ``[n, 1]`` for two classes (trained with BCE) or ``[n, C]`` (cross-entropy). Losses,
optimizers and loops belong to ``textbatch.train``; vectorizing to ``textbatch.features``.
"""

from __future__ import annotations

from textbatch.models.registry import MODELS, build_model, input_kind, output_units

__all__ = ["MODELS", "build_model", "input_kind", "output_units"]
