"""``textbatch tune``: the guide's tuning step, streaming. manifest -> split -> model choice ->
for each trial the search proposes: (vectorizer fit + cache, once per distinct vectorizer
setting) -> fit_model -> score on validation -> trial store; then the best trial's model, its
TOML, the plot, the test score and report.json.

Owns the order of those phases only: the search (space, strategies, budget, store) is
``textbatch.tune``'s, each trial's training ``pipeline.fit.fit_model``'s, the vectorizer fit and
its cache the pipeline's own (the same calls ``textbatch train`` makes).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textbatch.config import RunConfig, config_toml
from textbatch.pipeline.report import PhaseTimer, peak_rss_bytes
from textbatch.pipeline.train import TrainRequest, fit_sequence_length
from textbatch.tune.search import Budget, Proposal, TrialPruning, make_search, pruning_monitor
from textbatch.tune.space import SearchSpace, describe, parse_space
from textbatch.tune.store import TrialRecord, TrialStore, better

if TYPE_CHECKING:
    from textbatch.data.labels import LabelSet
    from textbatch.features import Vectorizer
    from textbatch.pipeline.sources import Split

TRIAL_ERRORS = (RuntimeError, MemoryError, ArithmeticError)  # torch's OOM is a RuntimeError


@dataclass
class TuneRequest:
    """What ``textbatch tune`` was asked: the job as ``train`` would run it (data, output folder,
    base settings, model; its ``verbose``: 0 silent, 1 a line per trial, 2 also a line per
    epoch; its ``overwrite``: forget the folder's trials) and the search: its space (``--grid``
    flags or the TOML ``[tune.grid]`` table; none: the model's default), strategy, number of
    trials, budget and metric."""

    job: TrainRequest
    grid: list[str] = field(default_factory=list)
    grid_table: dict[str, Any] | None = None
    search: str = "grid"
    trials: int | None = None
    time_budget: float | None = None  # seconds
    metric: str = "val_loss"
    prune: bool = True


class TrialFailed(Exception):
    """A trial that cannot give a score (a NaN loss); recorded as failed, the search goes on."""


def tune(request: TuneRequest) -> dict[str, Any]:
    """Run the search; returns report.json's content."""
    from textbatch.pipeline.sources import make_splits
    from textbatch.pipeline.train import resolve_model, write_json

    timer = PhaseTimer()
    job = request.job
    from textbatch.io.run_folder import claim

    out = claim(job.out, "tune", overwrite=job.overwrite)  # one writer; see io.run_folder
    with timer.phase("manifest"):
        splits, labels, skipped_records = make_splits(job.train, job.val, job.test, job.config)
    with timer.phase("explore"):
        base, _ = resolve_model(job, splits["train"].source)
    space = parse_space(request.grid, request.grid_table, base.model.name)
    if request.search == "grid":
        for params in space.grid():  # refuse a bad value before any training
            space.apply(base, params)
    store = TrialStore.open(out, _identity(base, splits, request), job.overwrite)
    search = make_search(request.search, space, store, num_trials=request.trials,
                         metric=request.metric, seed=base.stream.seed, prune=request.prune)
    vectorized = VectorizedSets(out / "vectorized", splits, labels)
    done_before = len(store.records)
    with timer.phase("trials"):
        skipped = _search(request, base, space, store, search, vectorized, labels)
    best = store.best(request.metric)
    with timer.phase("finish"):
        test = _finish(request, store, space, best, out)
    report = {"search": request.search, "metric": request.metric,
              "space": {d.name: list(d.values) or [d.low, d.high] for d in space.dimensions},
              "num_trials": len(store.records), "trials_run_now": len(store.records) - done_before,
              "states": _count_states(store.records), "skipped_by_budget": skipped,
              "time_budget_s": request.time_budget,
              "vectorizer_fits": vectorized.fits, "cache_writes": vectorized.cache_writes,
              "best": None if best is None else {**best.__dict__, "test": test},
              "seconds": {k: round(v, 3) for k, v in {**timer.seconds,
                                                       "total": timer.total()}.items()},
              "peak_rss_bytes": peak_rss_bytes(), "skipped_records": skipped_records}
    write_json(out / "report.json", report)  # the same writer as train's report
    return report


def _search(request: TuneRequest, base: RunConfig, space: SearchSpace, store: TrialStore,
            search: Any, vectorized: "VectorizedSets", labels: Any) -> list[dict[str, Any]]:
    """Ask, run, record until the strategy is done or the budget would be exceeded; returns the
    trials the budget skipped."""
    budget = Budget(request.time_budget)
    best = store.best(request.metric)
    while True:
        if not budget.allows(store.records):
            return search.remaining()
        proposal = search.ask()
        if proposal is None:
            return []
        config = space.apply(base, proposal.params)
        record, is_best = _run_trial(store.next_number, proposal, config, search, vectorized,
                                     request, best)
        store.add(record)  # after the best model is saved: a kill between reruns this trial
        search.tell(proposal, record)
        best = record if is_best else best
        if request.job.verbose:
            print(_progress_line(record, search.total, is_best), flush=True)


@dataclass
class VectorizedSets:
    """One fitted vectorizer and its train/val caches per distinct vectorizer setting, under
    ``folder/<key>/{vectorizer,cache/train,cache/val}``, made by the pipeline's one
    ``fit_and_cache`` and reused by its one reuse rule: a grid that does not search a vectorizer
    setting fits once, a rerun (after a kill) fits nothing. Counts fits and cache writes (a
    write: the train and validation splits vectorized by one fitted vectorizer)."""

    folder: Path
    splits: dict[str, Split]
    labels: LabelSet
    fits: int = 0
    cache_writes: int = 0
    _open: tuple[str, Vectorizer, RunConfig] | None = None

    def get(self, config: RunConfig) -> tuple[dict[str, Path], Vectorizer, RunConfig]:
        """(caches, fitted vectorizer, config with num_features/num_classes/sequence length)."""
        key = json.dumps({"vectorize": config.vectorize.to_dict(),
                          "block_size": config.stream.block_size}, sort_keys=True)
        folder = self.folder / hashlib.sha256(key.encode()).hexdigest()[:12]
        caches = {"train": folder / "cache" / "train", "val": folder / "cache" / "val"}
        if self._open is None or self._open[0] != key:
            vectorizer = self._fit_or_reuse(config, folder, caches)
            self._open = (key, vectorizer, fit_sequence_length(config, caches["train"]))
        _, vectorizer, fitted = self._open
        config = config.replace(
            model=config.model.replace(num_features=int(vectorizer.num_features),
                                       num_classes=len(self.labels)),
            vectorize=config.vectorize.replace(
                max_sequence_length=fitted.vectorize.max_sequence_length))
        return caches, vectorizer, config

    def _fit_or_reuse(self, config: RunConfig, folder: Path, caches: dict[str, Path]
                      ) -> Vectorizer:
        from textbatch.features.cache import open_cache
        from textbatch.pipeline.vectorize import cache_split, fit_and_cache, source_key

        train, val = self.splits["train"].source, self.splits["val"].source
        fitted = fit_and_cache(train, self.labels, config.vectorize, caches["train"],
                               folder / "vectorizer", source_key(train, config.vectorize),
                               block_size=config.stream.block_size, spill_dir=folder)
        val_key = source_key(val, config.vectorize)
        # the val cache is valid only with the vectorizer that wrote it: a reused one
        if not fitted.reused or open_cache(caches["val"], val_key) is None:
            cache_split(fitted.vectorizer, val, self.labels, caches["val"], val_key,
                        config.stream.block_size)
        if not fitted.reused:
            self.fits, self.cache_writes = self.fits + 1, self.cache_writes + 1
        return fitted.vectorizer


def _run_trial(number: int, proposal: Proposal, config: RunConfig, search: Any,
               vectorized: VectorizedSets, request: TuneRequest, best: TrialRecord | None
               ) -> tuple[TrialRecord, bool]:
    """Train and score one trial; a new best is saved as ``out/model`` + ``best.toml`` at once.
    Out of memory, a NaN loss or a setting the model refuses fail the trial, not the search."""
    from textbatch.errors import ConfigError
    from textbatch.pipeline.fit import fit_model
    from textbatch.pipeline.train import cached_batches, evaluate_batches
    from textbatch.train import TerminateOnNaN, seed_everything

    caches, vectorizer, config = vectorized.get(config)  # the shared fit is not the trial's time
    start = time.perf_counter()
    pruning = TrialPruning(pruning_monitor(request.metric),
                           lambda epoch, value: search.should_prune(proposal, epoch, value))
    nan = TerminateOnNaN()
    record = TrialRecord(number, proposal.params, "failed")
    try:
        seed_everything(config.stream.seed)  # every trial starts from the same seeds
        trainer, stopper = fit_model(config, caches, Path(request.job.out) / "trials" /
                                     f"{number:04d}", 2 if request.job.verbose >= 2 else 0,
                                     callbacks=[pruning, nan])
        if nan.nan_at is not None:
            raise TrialFailed(f"NaN loss at epoch {nan.nan_at[0]}, batch {nan.nan_at[1]}")
        scores, _ = evaluate_batches(trainer, cached_batches(caches["val"]), vectorized.labels)
    except (*TRIAL_ERRORS, TrialFailed, ConfigError) as exc:
        record.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        record.seconds, record.curve = time.perf_counter() - start, pruning.curve
        return record, False
    record.state = "pruned" if pruning.pruned else "complete"
    record.val_loss, record.val_accuracy = scores["loss"], scores["accuracy"]
    record.macro_f1 = scores["macro_f1"]
    record.value = {"val_loss": record.val_loss, "val_accuracy": record.val_accuracy,
                    "macro_f1": record.macro_f1}[request.metric]
    record.best_epoch = (stopper.best_epoch if stopper.best_epoch >= 0 else
                         len(trainer.history.epoch) - 1) + 1
    record.epochs_run, record.curve = len(trainer.history.epoch), pruning.curve
    is_best = record.state == "complete" and better(request.metric, record.value,
                                                    best.value if best else None)
    if is_best:
        _save_best(Path(request.job.out), config, vectorized, vectorizer, trainer)
    record.seconds = time.perf_counter() - start
    return record, is_best


def _save_best(out: Path, config: RunConfig, vectorized: VectorizedSets, vectorizer: Any,
               trainer: Any) -> None:
    """The best trial so far as an ordinary ``model/`` and the TOML ``train --config`` reads."""
    from textbatch.artifacts import save_classifier
    from textbatch.io import atomic_write

    save_classifier(out / "model", config, list(vectorized.labels.names), vectorizer,
                    trainer.model.cpu())
    with atomic_write(out / "best.toml", "w", encoding="utf-8") as handle:
        handle.write(config_toml(config))


def _progress_line(record: TrialRecord, total: int, is_best: bool) -> str:
    """``Trial 3/15 - layers=1 units=32 - 12.3s - val_loss: 0.2811 - ... - complete (best)``."""
    parts = [f"Trial {record.number + 1}/{total}", describe(record.params),
             f"{record.seconds:.1f}s"]
    parts += [f"{name}: {getattr(record, name):.4f}" for name in
              ("val_loss", "val_accuracy", "macro_f1") if getattr(record, name) is not None]
    parts.append(record.state + (" (best so far)" if is_best else "") +
                 (f": {record.error}" if record.error else ""))
    return " - ".join(parts)


def _finish(request: TuneRequest, store: TrialStore, space: SearchSpace,
            best: TrialRecord | None, out: Path) -> dict[str, Any] | None:
    """The plot of every scored trial and the best model's test score (when --test is given)."""
    from textbatch import plots

    scored = [r for r in store.records if r.value is not None]
    if scored:
        plots.tune_plot([r.params for r in scored], [r.value for r in scored], space.names,
                        request.metric, out / "plots" / "tune.png")
    if best is None or not request.job.test or not (out / "model").exists():
        return None
    from textbatch.pipeline.evaluate import evaluate

    result = evaluate(out / "model", request.job.test)
    return {"accuracy": result["accuracy"], "loss": result["loss"],
            "macro_f1": result["macro_f1"], "num_records": result["num_records"]}


def _identity(config: RunConfig, splits: dict, request: TuneRequest) -> dict[str, Any]:
    """What makes two tune runs the same search: data, base settings and metric (the space may
    grow: trials already run are kept)."""
    from textbatch.pipeline.resume import run_fingerprint

    data = {name: splits[name].source.manifest for name in ("train", "val")}
    return {"data": run_fingerprint(config, data)["data"], "settings": config.to_dict(),
            "metric": request.metric, "search": request.search}


def _count_states(records: list[TrialRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record.state] = counts.get(record.state, 0) + 1
    return counts

