"""Orchestration of ``train``, ``evaluate`` and ``predict``: manifest -> split -> vectorizer fit ->
cache -> streams -> trainer -> artifacts. Owns the order of the phases and the run report; every
phase is a call into the package that owns it (data, features, models, train, artifacts).
"""

from __future__ import annotations

from textbatch.pipeline.train import TrainRequest, train

__all__ = ["TrainRequest", "train"]
