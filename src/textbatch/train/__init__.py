"""Owns STEPS: the fit loop, Keras-named callbacks, seeds, device choice and weight files.

Leaves batches and their position to ``textbatch.data`` (the trainer only draws from an iterable
of ``SparseBatch``), architectures to ``textbatch.models`` and run orchestration to
``textbatch.pipeline``.
"""

from __future__ import annotations

from textbatch.train.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from textbatch.train.progress import format_epoch_line
from textbatch.train.seeds import pick_device, seed_everything
from textbatch.train.trainer import Trainer, probabilities
from textbatch.train.weights import load_weights, save_weights

__all__ = [
    "Callback", "CSVLogger", "EarlyStopping", "History", "ModelCheckpoint", "ReduceLROnPlateau",
    "TerminateOnNaN", "Trainer", "format_epoch_line", "load_weights", "pick_device",
    "probabilities", "save_weights", "seed_everything",
]
