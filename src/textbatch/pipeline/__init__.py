"""The only orchestrator: every job (``train``, ``vectorize``, ``evaluate``, ``predict``,
``explore``, the Keras adapter, tuning) is a function here, and each phase is a call into the
package that owns it (data, features, models, train, artifacts).

- ``train(TrainRequest)`` (``pipeline.train``): manifest -> split -> model choice -> fit + cache
  -> Trainer.fit -> evaluate -> artifacts, each phase timed into report.json.
- ``fit_and_cache`` (``pipeline.vectorize``): THE one function that fits a vectorizer, writes its
  vectorized cache and stamps both with the cache key; ``reusable_vectorizer`` is THE one reuse
  rule. ``vectorize_files`` is ``textbatch vectorize``.
- ``make_splits`` / ``train_val_sources`` (``pipeline.sources``): the one train/validation split.
- ``RunCheckpoints`` / ``run_fingerprint`` (``pipeline.resume``): resume by fingerprint.
- ``tune(TuneRequest)`` (``pipeline.tune``, exported as ``run_tune``): the search of
  ``textbatch.tune`` over trials that share ``fit_and_cache``'s vectorizer and cache.
- ``evaluate`` / ``predict`` / ``predict_text`` (``pipeline.evaluate``): a saved classifier over
  streamed records.

The CLI imports this package only (plus the config and error types). Everything heavy loads on
first use, so ``import textbatch.pipeline`` stays cheap at CLI start-up (no numpy, no torch).
"""

from __future__ import annotations

import importlib
from typing import Any

from textbatch.pipeline.train import TrainRequest, is_rank_zero, train

# Name -> "module:attribute", imported on first use (``evaluate``/``predict`` are reached as the
# submodule ``textbatch.pipeline.evaluate``). The last group is what the CLI needs from the
# packages the pipeline orchestrates, so that the CLI imports this package only.
_EXPORTS = {
    **{name: f"textbatch.pipeline.vectorize:{name}" for name in (
        "fit_and_cache", "fit_vectorizer", "cache_split", "cache_key", "source_key",
        "reusable_vectorizer", "FittedCache", "vectorize_files", "VectorizeReport")},
    **{name: f"textbatch.pipeline.sources:{name}" for name in (
        "make_splits", "train_val_sources", "read_manifest")},
    **{name: f"textbatch.pipeline.resume:{name}" for name in (
        "RunCheckpoints", "run_fingerprint", "fingerprint_diff")},
    "TuneRequest": "textbatch.pipeline.tune:TuneRequest",
    "run_tune": "textbatch.pipeline.tune:tune",  # not "tune": the submodule's name
    "parse_duration": "textbatch.tune.space:parse_duration",
    "explore_files": "textbatch.explore:explore",
    "write_explore_plots": "textbatch.explore_plots:write_explore_plots",
    "model_help": "textbatch.models.table:model_help",
    "vectorizer_help": "textbatch.models.table:vectorizer_help",
    "TrainingInterrupted": "textbatch.train.signals:TrainingInterrupted",
}

__all__ = sorted(["TrainRequest", "is_rank_zero", "train", *_EXPORTS])


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'textbatch.pipeline' has no attribute {name!r}")
    module, attribute = target.split(":")
    return getattr(importlib.import_module(module), attribute)
