"""Owns the SEARCH of ``textbatch tune``: search spaces (flags, TOML, per-model defaults), the
strategies that propose settings (grid; random and TPE through Optuna), the time budget, the
trial store (trials.jsonl / trials.csv, resumable) and the pruning callback.

Leaves everything that runs a trial to ``textbatch.pipeline`` (``pipeline/tune.py`` orchestrates:
one vectorizer fit per distinct vectorizer setting, one cache, one ``fit_model`` per trial) and
the plot to ``textbatch.plots``. Optuna is an optional extra (``pip install 'textbatch[tune]'``),
imported only by the random and TPE strategies.
"""

from __future__ import annotations

from textbatch.tune.space import Dimension, SearchSpace, parse_duration, parse_space
from textbatch.tune.store import TrialRecord, TrialStore

__all__ = ["Dimension", "SearchSpace", "TrialRecord", "TrialStore", "parse_duration",
           "parse_space"]
