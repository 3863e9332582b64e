"""Strategies that propose the next trial, the time budget, and the callback that prunes.

``--search grid`` is the guide's exhaustive grid and needs nothing beyond textbatch; every point
is trained to its end (early stopping only), so its figures are the guide's. ``random`` and
``tpe`` are Optuna's samplers; they prune a trial whose per-epoch validation curve falls below
the median of the earlier trials at the same epoch (Optuna's MedianPruner), so a budget buys
more trials. Both resume: the trials in the store are skipped (grid) or handed to a fresh study
(Optuna), so a rerun continues where the killed one stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from textbatch.errors import ConfigError
from textbatch.train.callbacks import Callback, Logs
from textbatch.tune.space import SearchSpace
from textbatch.tune.store import METRICS, TrialRecord, TrialStore

SEARCHES = ("grid", "random", "tpe")
INSTALL_HINT = ("--search random|tpe needs Optuna, an optional extra: pip install "
                "'textbatch[tune]' (or pip install optuna); --search grid needs nothing more.")
MAX_REPEATS = 100  # a sampler proposing only finished settings this often: the space is spent


def pruning_monitor(metric: str) -> str:
    """The per-epoch log a trial is pruned on: macro F1 is only scored at a trial's end, so its
    trials are pruned on validation accuracy."""
    return "val_loss" if metric == "val_loss" else "val_accuracy"


@dataclass
class Proposal:
    """A trial to run: its settings and the strategy's handle on it (an Optuna trial)."""

    params: dict[str, Any]
    handle: Any = None


class GridSearch:
    """Every grid point not yet in the store, in grid order; nothing is pruned."""

    def __init__(self, space: SearchSpace, store: TrialStore) -> None:
        self.pending = [p for p in space.grid() if store.find(p) is None]
        self.total = len(space.grid())

    def ask(self) -> Proposal | None:
        return Proposal(self.pending.pop(0)) if self.pending else None

    def remaining(self) -> list[dict[str, Any]]:
        return list(self.pending)

    def should_prune(self, proposal: Proposal, epoch: int, value: float) -> bool:
        return False

    def tell(self, proposal: Proposal, record: TrialRecord) -> None: ...


class OptunaSearch:
    """``num_trials`` trials in all (finished ones included) from Optuna's random or TPE sampler,
    with median pruning on the per-epoch validation curve."""

    def __init__(self, space: SearchSpace, store: TrialStore, sampler: str, num_trials: int,
                 metric: str, seed: int, prune: bool = True) -> None:
        optuna = import_optuna()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        samplers = {"random": optuna.samplers.RandomSampler, "tpe": optuna.samplers.TPESampler}
        # seeded by what is done, so a resumed search draws new settings, not the first ones again
        chosen = samplers[sampler](seed=seed + len(store.records))
        pruner = (optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
                  if prune else optuna.pruners.NopPruner())
        direction = "minimize" if METRICS[metric] == "min" else "maximize"
        self.optuna, self.store = optuna, store
        self.study = optuna.create_study(direction=direction, sampler=chosen, pruner=pruner)
        self.distributions = {d.name: _distribution(optuna, d) for d in space.dimensions}
        for record in store.records:
            self.study.add_trial(self._frozen(record))
        self.total = num_trials
        self.left = max(0, num_trials - len(store.records))

    def ask(self) -> Proposal | None:
        for _ in range(MAX_REPEATS):
            if self.left <= 0:
                return None
            trial = self.study.ask(self.distributions)
            done = self.store.find(trial.params)
            if done is None:
                self.left -= 1
                return Proposal(dict(trial.params), trial)
            self.study.tell(trial, done.value if done.state == "complete" else None,
                            state=self._state(done))
        return None

    def remaining(self) -> list[dict[str, Any]]:
        return [{"trial": i + 1} for i in range(self.left)]

    def should_prune(self, proposal: Proposal, epoch: int, value: float) -> bool:
        proposal.handle.report(value, epoch)
        return bool(proposal.handle.should_prune())

    def tell(self, proposal: Proposal, record: TrialRecord) -> None:
        state = self._state(record)
        value = record.value if record.state == "complete" else None
        self.study.tell(proposal.handle, value, state=state)

    def _state(self, record: TrialRecord) -> Any:
        states = self.optuna.trial.TrialState
        return {"complete": states.COMPLETE, "pruned": states.PRUNED,
                "failed": states.FAIL}[record.state]

    def _frozen(self, record: TrialRecord) -> Any:
        """A finished trial of an earlier run, as Optuna's history."""
        return self.optuna.trial.create_trial(
            params=record.params, distributions=self.distributions, state=self._state(record),
            value=record.value if record.state == "complete" else None,
            intermediate_values=dict(enumerate(record.curve)))


def import_optuna() -> Any:
    """Optuna, or a ConfigError with the install hint."""
    try:
        import optuna
    except ModuleNotFoundError:
        raise ConfigError(INSTALL_HINT) from None
    return optuna


def _distribution(optuna: Any, dim: Any) -> Any:
    dists = optuna.distributions
    if not dim.is_range:
        return dists.CategoricalDistribution(list(dim.values))
    if dim.is_integer:
        return dists.IntDistribution(int(dim.low), int(dim.high), log=dim.log)
    return dists.FloatDistribution(dim.low, dim.high, log=dim.log)


def make_search(search: str, space: SearchSpace, store: TrialStore, *, num_trials: int | None,
                metric: str, seed: int, prune: bool) -> GridSearch | OptunaSearch:
    """The strategy ``search`` names; random and TPE need ``num_trials``."""
    if search not in SEARCHES:
        raise ConfigError(f"Unknown search {search!r}. Known: {list(SEARCHES)}.")
    if metric not in METRICS:
        raise ConfigError(f"Unknown metric {metric!r}. Known: {list(METRICS)}.")
    if search == "grid":
        return GridSearch(space, store)
    if not num_trials or num_trials < 1:
        raise ConfigError(f"--search {search} needs --trials N (N >= 1).")
    return OptunaSearch(space, store, search, num_trials, metric, seed, prune)


class Budget:
    """``--time-budget``: a trial is started only when the time used so far plus the mean length
    of the finished trials fits in the budget (fastText's autotune stops at its duration too)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds, self.start = seconds, time.monotonic()

    @property
    def used(self) -> float:
        return time.monotonic() - self.start

    def allows(self, records: list[TrialRecord]) -> bool:
        if self.seconds is None:
            return True
        lengths = [r.seconds for r in records if r.state != "failed"]
        expected = sum(lengths) / len(lengths) if lengths else 0.0
        return self.used + expected <= self.seconds


class TrialPruning(Callback):
    """Reports ``monitor`` after each epoch to ``report(epoch, value)``; when it answers True
    the trial stops (``pruned``). Keeps the curve for trials.jsonl."""

    def __init__(self, monitor: str, report: Callable[[int, float], bool]) -> None:
        self.monitor, self.report = monitor, report
        self.curve: list[float] = []
        self.pruned = False

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        value = float((logs or {}).get(self.monitor, float("nan")))
        self.curve.append(value)
        if self.report(epoch, value) and self.trainer is not None:
            self.pruned = True
            self.trainer.stop_training = True

