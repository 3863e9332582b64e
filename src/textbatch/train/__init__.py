"""Owns STEPS: the fit loop, Keras-named callbacks, seeds, device choice and weight files.

Leaves batches and their position to ``textbatch.data`` (the trainer only draws from an iterable
of ``SparseBatch``), architectures to ``textbatch.models`` and run orchestration to
``textbatch.pipeline``.

The names below load on first use (PEP 562): importing a submodule such as
``textbatch.train.collectives`` must not import torch (~1.5 s) before a run needs it (issue 12).
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "Callback": "callbacks", "CSVLogger": "callbacks", "EarlyStopping": "callbacks",
    "History": "callbacks", "ModelCheckpoint": "callbacks", "ReduceLROnPlateau": "callbacks",
    "TerminateOnNaN": "callbacks", "format_epoch_line": "progress", "pick_device": "seeds",
    "seed_everything": "seeds", "Trainer": "trainer", "probabilities": "trainer",
    "load_weights": "weights", "save_weights": "weights",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
