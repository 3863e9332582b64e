"""``textbatch train``: manifest -> split -> model choice -> vectorizer fit -> cache -> streams
-> Trainer.fit -> artifacts. Each phase is timed into report.json.

Owns orchestration only; every step is a call into the package that owns it. The steps
``textbatch tune`` repeats per trial are public here (``resolve_model``, ``fit_sequence_length``,
``evaluate_batches``, ``cached_batches``, ``write_json``), so the two orchestrators share them.
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from textbatch.config import RunConfig, with_model_defaults
from textbatch.errors import ConfigError
from textbatch.models.table import MODEL_NAMES, MODEL_TABLE, check_vectorizer
from textbatch.pipeline.report import PhaseTimer, peak_rss_bytes
from textbatch.pipeline.sources import Split, make_splits, resolve_task, text_batches
from textbatch.pipeline.vectorize import cache_split, fit_and_cache, source_key

if TYPE_CHECKING:
    import numpy as np

    from textbatch.data.labels import LabelSet
    from textbatch.data.text_source import TextSource
    from textbatch.features import Vectorizer
    from textbatch.features.batch import SparseBatch
    from textbatch.pipeline.fit_pool import PartsTransform
    from textbatch.pipeline.resume import RunCheckpoints
    from textbatch.train import EarlyStopping, Trainer
    from textbatch.train.collectives import DistContext

EVAL_BATCH = 2_048


@dataclass
class TrainRequest:
    """What ``textbatch train`` was asked: inputs, output folder and the resolved config.

    ``model="auto"`` applies the guide's S/W rule weighed by the hardware (``cost.auto_choice``:
    no GPU, no sepCNN); ``vectorizer=None`` uses the model's own kind.
    """

    train: list[str]
    out: Path
    config: RunConfig = field(default_factory=RunConfig)
    val: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)
    model: str = "auto"
    vectorizer: str | None = None
    verbose: int = 2
    resume: bool = False  # demand a checkpoint in out/checkpoints (one is used anyway if present)
    overwrite: bool = False  # delete out/checkpoints and start over
    # "section.field" names the user set (flags, TOML); None: any field still at its shared
    # default takes the model's own default (see config.with_model_defaults)
    given: frozenset[str] | None = None


def train(request: TrainRequest) -> dict[str, Any]:
    """Run the whole pipeline; returns metrics.json's content."""
    from textbatch.pipeline import warmup

    warmup.request("torch")  # loaded while the fit's workers run (pipeline/warmup.py)
    try:
        return _run(request)
    finally:
        warmup.finish()  # also drops the request when the run failed before any pool


def _run(request: TrainRequest) -> dict[str, Any]:
    from textbatch.pipeline import warmup
    from textbatch.train.collectives import setup as setup_distributed
    from textbatch.train.seeds import seed_everything

    timer = PhaseTimer()
    out = Path(request.out)
    dist = setup_distributed(request.config.train.device)  # under torchrun only
    _claim(out, dist, request.overwrite)
    with timer.phase("manifest"), dist.rank_zero_first():  # the others reuse its manifest cache
        splits, labels, skipped = make_splits(request.train, request.val, request.test,
                                              request.config)
    with timer.phase("explore"):
        config, explored = resolve_model(request, splits["train"].source)
    labels, task, note = resolve_task(config.model.task, splits["train"].source.manifest, labels)
    config = config.replace(model=config.model.replace(task=task))
    if request.verbose and dist.is_rank_zero and task == "multilabel":  # the unusual case
        print(note, file=sys.stderr, flush=True)
    checkpoints = _open_checkpoints(request, config, splits, dist)  # before any expensive pass
    with timer.phase("vectorize"):  # fit + the train cache (+ the validation cache, pooled)
        train_source, val_source = splits["train"].source, splits["val"].source
        fitted = fit_and_cache(
            train_source, labels, config.vectorize, out / "cache" / "train",
            checkpoints.vectorizer_dir, source_key(train_source, config.vectorize),
            block_size=config.stream.block_size, reuse=checkpoints.resuming, spill_dir=out,
            dist=dist, other_split=(val_source, out / "cache" / "val",
                                    source_key(val_source, config.vectorize)))
        vectorizer = fitted.vectorizer
    config = config.replace(model=config.model.replace(
        num_features=int(vectorizer.num_features), num_classes=len(labels)))
    caches = {"train": out / "cache" / "train"}
    config = fit_sequence_length(config, caches["train"])
    with timer.phase("import"):  # torch: ~0 s when the fit's pool hid it, else ~1.2-1.5 s
        warmup.finish()  # nothing below forks or imports torch while the warm-up thread runs
        seed_everything(config.stream.seed)  # imports torch unless warmed up; no RNG drawn before
    with timer.phase("cache"):  # the validation split, unless the fit's workers wrote it
        caches["val"] = fitted.other_cache or dist.rank_zero_builds(
            out / "cache" / "val", lambda: cache_split(
                vectorizer, val_source, labels, out / "cache" / "val",
                source_key(val_source, config.vectorize), config.stream.block_size))
    from textbatch.pipeline.fit import fit_model

    with timer.phase("embeddings"):
        vectors = _pretrained(config, vectorizer, request.verbose)

    # the test set is vectorized meanwhile, on the CPUs training leaves idle
    with _vectorize_meanwhile(splits.get("test"), labels, vectorizer, config, out,
                              dist) as test_rows, _background_plots(dist) as drawing:
        with timer.phase("train"):
            trainer, stopper = fit_model(
                config, caches, out, request.verbose, checkpoints,
                embedding=None if vectors is None else vectors.matrix,
                fine_tune_checkpoints=_open_checkpoints(request, config, splits, dist,
                                                        "fine_tune")
                if config.model.fine_tune_embeddings else None,
                output_bias=_label_log_odds(splits["train"].source, labels))
        metrics = _metrics(trainer, stopper, config)
        if not dist.is_rank_zero:  # rank 0 alone evaluates and writes artifacts
            return metrics
        drawing.draw("history_plot", trainer.history.history, out / "plots" / "history.png")
        evaluation, thresholds = None, None
        with timer.phase("evaluate"):
            for name in ("val", "test"):
                if name not in splits:
                    continue
                if name in caches:
                    batches = cached_batches(caches[name])
                elif name == "test" and test_rows is not None:
                    batches = test_rows.batches()
                else:
                    batches = text_batches(splits[name].source, labels, vectorizer, EVAL_BATCH,
                                           spill_dir=out)
                evaluation, tuned = evaluate_batches(trainer, batches, labels, thresholds,
                                              tune=name == "val" and config.train.tune_thresholds)
                thresholds = tuned if tuned is not None else thresholds
                metrics.update(_split_metrics(name, evaluation, labels.multilabel))
        if evaluation is not None and "confusion_matrix" in evaluation:  # single-label only
            drawing.draw("confusion_plot", evaluation["confusion_matrix"], evaluation["classes"],
                         out / "plots" / "confusion.png")
        with timer.phase("save"):
            _save(out, config, labels, vectorizer, trainer, metrics, evaluation, thresholds)
            drawing.close()  # the plots are part of what a run saves
        report = _report(timer, trainer, splits, skipped, vectorizer, explored)
        if vectors is not None:
            report["pretrained_embeddings"] = {"file": vectors.path, "found": vectors.found,
                                               "vocabulary": vectors.wanted, "dim": vectors.dim}
        write_json(out / "report.json", report)
        return metrics


def _vectorize_meanwhile(test: Split | None, labels: LabelSet, vectorizer: Vectorizer,
                         config: RunConfig, out: Path, dist: DistContext
                         ) -> contextlib.AbstractContextManager[PartsTransform | None]:
    """Start vectorizing the test split in worker processes on the CPUs that training leaves
    idle (the MLP trains on one thread), so that evaluate only predicts. None (vectorized at
    evaluate, as before) without a test set, on ranks other than 0, when no CPU is spare or the
    split is too small for a worker (``fit_pool.spare_workers``). Forked before training
    starts any thread; the workers are stopped when the ``with`` block ends."""
    if test is None or not dist.is_rank_zero:
        return contextlib.nullcontext()
    from textbatch.pipeline.fit_pool import PartsTransform, spare_workers

    workers = spare_workers(test.num_records, _training_cpus(config))
    if workers < 1:
        return contextlib.nullcontext()
    return PartsTransform(vectorizer, test.source, labels, workers, EVAL_BATCH, spill_dir=out)


def _background_plots(dist: DistContext) -> contextlib.AbstractContextManager:
    """Rank 0's plots, drawn by a child process while training and evaluation go on
    (``plots.BackgroundPlots``); other ranks draw none."""
    if not dist.is_rank_zero:
        return contextlib.nullcontext()
    from textbatch import plots

    return plots.BackgroundPlots()


def _training_cpus(config: RunConfig) -> int:
    """CPUs a training run keeps busy: its loader's worker processes, plus 1 on a GPU (the loop
    feeding it) or for a model whose CPU step runs on one thread (``one_thread``: the MLP), else
    torch's intra-op threads (at most the CPUs)."""
    import torch

    from textbatch.models.registry import model_class
    from textbatch.pipeline.fit_pool import available_cpus
    from textbatch.train.seeds import pick_device

    if (pick_device(config.train.device).type != "cpu"
            or getattr(model_class(config.model.name), "one_thread", False)):
        threads = 1
    else:
        threads = min(available_cpus(), torch.get_num_threads())
    return threads + config.stream.num_workers


def _claim(out: Path, dist: DistContext, overwrite: bool) -> None:
    """Rank 0 locks ``out`` for the run (one writer; a stranger's folder refused; leftovers of
    killed runs removed: ``textbatch.io.run_folder``); the other ranks write under its lock."""
    from textbatch.io.run_folder import claim

    if dist.is_rank_zero:
        claim(out, "train", overwrite=overwrite)
    else:
        out.mkdir(parents=True, exist_ok=True)


def is_rank_zero() -> bool:
    """Whether this process is rank 0 of a torchrun job, or a plain run (it prints the metrics)."""
    from textbatch.train.collectives import current

    return current().is_rank_zero


def _open_checkpoints(request: TrainRequest, config: RunConfig, splits: dict[str, Split],
                      dist: DistContext, stage: str = "") -> RunCheckpoints:
    """Resume from ``out/checkpoints`` when it holds a checkpoint of this very run (same data and
    settings), refuse one of another run, or start over with ``--overwrite``. A later training
    ``stage`` (fine-tuning) keeps its own checkpoints under ``out/<stage>/checkpoints``."""
    from textbatch.pipeline.resume import RunCheckpoints, run_fingerprint

    data = {name: splits[name].source.manifest for name in ("train", "val")}
    folder = Path(request.out) / stage if stage else Path(request.out)
    return RunCheckpoints.open(folder, run_fingerprint(config, data, dist.world_size),
                               resume=request.resume, overwrite=request.overwrite,
                               keep=config.train.keep_checkpoints, writer=dist.is_rank_zero)


def resolve_model(request: TrainRequest, train_source: TextSource) -> tuple[RunConfig, dict]:
    """Pick the model (``auto``: the S/W rule, weighed by the hardware), its defaults
    (``MODEL_DEFAULTS``) and the vectorizer kind that goes with it."""
    config, explored = request.config, {}
    name = request.model
    if name == "auto":
        explored = _explore(train_source)
        name, line = _auto_choice(explored, request.config)
        if request.verbose:
            print(line, flush=True)
    if name not in MODEL_TABLE:
        raise ConfigError(f"Unknown model {name!r}. Known: ['auto', "
                          f"{', '.join(repr(k) for k in MODEL_NAMES)}].")
    kind = request.vectorizer or MODEL_TABLE[name].vectorizer  # the guide's / fastText's pairing
    check_vectorizer(name, kind)
    config = with_model_defaults(config, name, request.given)  # the one place they apply
    config = config.replace(model=config.model.replace(name=name),
                            vectorize=config.vectorize.replace(kind=kind))
    return _embedding_dim_from_file(config, request.given), explored


def _auto_choice(explored: dict, config: RunConfig) -> tuple[str, str]:
    """``auto``'s model (the S/W rule weighed by the hardware) and the line announcing it."""
    from textbatch.models.cost import auto_choice
    from textbatch.train.seeds import pick_device

    # the device matters only where the guide's rule says sepCNN: asking imports torch (~1.5 s)
    on_gpu = (explored["recommended_model"] == "sepcnn"
              and pick_device(config.train.device).type != "cpu")
    return auto_choice(explored, config.train.epochs, on_gpu)


def _embedding_dim_from_file(config: RunConfig, given: frozenset[str] | None) -> RunConfig:
    """With ``--pretrained-embeddings``, the embedding takes the file's dimension; an
    ``--embedding-dim`` that says otherwise is an error, not a silent choice."""
    from textbatch.config import ModelConfig
    from textbatch.features.pretrained import vector_dim

    path = config.model.pretrained_embeddings
    if not path:
        return config
    if config.model.name != "sepcnn":
        raise ConfigError(f"--pretrained-embeddings is for --model sepcnn (its embedding); "
                          f"the model is {config.model.name!r}.")
    dim = vector_dim(path)
    chosen = config.model.embedding_dim
    set_by_user = ("model.embedding_dim" in given if given is not None
                   else chosen != ModelConfig().embedding_dim)
    if set_by_user and chosen != dim:
        raise ConfigError(f"--embedding-dim {chosen} does not match {path}, whose vectors have "
                          f"{dim} dimensions. Drop --embedding-dim (it follows the file) or "
                          "pass the file's.")
    return config.replace(model=config.model.replace(embedding_dim=dim))


def _pretrained(config: RunConfig, vectorizer: Any, verbose: int) -> Any:
    """The pretrained vectors of the vocabulary's words (None without the flag); says how many
    of the words the file had."""
    path = config.model.pretrained_embeddings
    if not path:
        return None
    from textbatch.features.pretrained import read_vectors

    vectors = read_vectors(path, vectorizer.vocabulary_, int(vectorizer.num_features))
    if verbose:
        print(vectors.summary(), flush=True)
    return vectors


def _explore(source: TextSource) -> dict[str, Any]:
    """The guide's S/W rule: samples of the training split from the manifest, and the median
    words per sample over every record of the training files (counted by the manifest's scan,
    so no pass is read here; ``textbatch explore`` gives the other statistics)."""
    from textbatch.explore import median_from_histogram, recommend_model, sw_ratio

    words = source.manifest.words_per_record
    samples, median = len(source), median_from_histogram(words)
    return {"num_samples": samples, "median_words_per_sample": median,
            "median_from_samples": sum(words.values()), "sw_ratio": sw_ratio(samples, median),
            "recommended_model": recommend_model(samples, median)}


def fit_sequence_length(config: RunConfig, train_cache: Path) -> RunConfig:
    """Like the guide, pad sequences to min(longest training sequence, max_sequence_length):
    short-text data (SST-2: ~20 words) must not convolve 500 positions of padding."""
    if config.vectorize.kind != "sequence":
        return config
    import numpy as np

    from textbatch.features.cache import CacheSource

    offsets = np.asarray(CacheSource(train_cache).offsets)
    longest = int(np.diff(offsets).max()) if len(offsets) > 1 else 1
    length = max(1, min(longest, config.vectorize.max_sequence_length))
    return config.replace(vectorize=config.vectorize.replace(max_sequence_length=length))


def evaluate_batches(trainer: Trainer, batches: Iterable[SparseBatch], labels: LabelSet,
                     thresholds: np.ndarray | None = None, tune: bool = False
                     ) -> tuple[dict[str, Any], np.ndarray | None]:
    """Full metrics of labelled SparseBatches, streamed: per class and confusion, or for
    multi-label per label and micro/macro at ``thresholds`` (0.5 when None). With ``tune``
    (validation, multi-label) the thresholds are chosen on these batches first and the scores
    are theirs; returns (metrics, the tuned thresholds or None)."""
    from textbatch.multilabel import DEFAULT_THRESHOLD, MultiLabelAccumulator
    from textbatch.pipeline.metrics import Accumulator

    multilabel = labels.multilabel
    threshold = thresholds if thresholds is not None else DEFAULT_THRESHOLD
    scores = (MultiLabelAccumulator(len(labels), threshold) if multilabel
              else Accumulator(len(labels)))
    for batch in batches:
        scores.add(batch.labels, trainer.predict_proba(batch).numpy())
    if not (multilabel and tune):
        return scores.result(list(labels.names)), None
    tuned = scores.tuned()  # subset accuracy stays the 0.5 one: it needs the records again
    return scores.result(list(labels.names), tuned), tuned


def _label_log_odds(source: TextSource, labels: LabelSet) -> np.ndarray | None:
    """Multi-label: each label's log-odds among the training records (from the manifest's
    counts, clipped to 1e-4..1 - 1e-4), where the output logits start; None otherwise."""
    import numpy as np

    if not labels.multilabel:
        return None
    counts = source.manifest.label_counts(source.split, source.val_fraction)
    p = np.clip(np.array([counts[n] for n in labels.names], np.float64) / len(source),
                1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def _split_metrics(name: str, evaluation: dict[str, Any], multilabel: bool) -> dict[str, Any]:
    """metrics.json's entries for one evaluated split."""
    keys = (("micro_f1", "macro_f1", "precision_at_1", "subset_accuracy", "loss") if multilabel
            else ("accuracy", "loss"))
    return {f"{name}_{key}": evaluation[key] for key in keys}


def cached_batches(folder: Path) -> Iterator[SparseBatch]:
    """Every row of a vectorized cache in order, a block at a time (no text is re-read)."""
    from textbatch.features.cache import CacheSource

    source = CacheSource(folder)
    for index in range(len(source.block_sizes)):
        yield source.gather(source.read_block(index))


def _metrics(trainer: Trainer, stopper: EarlyStopping, config: RunConfig) -> dict[str, Any]:
    history = trainer.history.history
    best = stopper.best_epoch if stopper.best_epoch >= 0 else len(trainer.history.epoch) - 1
    return {"model": config.model.name, "best_epoch": best + 1,
            "epochs_run": len(trainer.history.epoch),
            "train_accuracy": history.get("accuracy", [None])[best],
            "train_loss": history.get("loss", [None])[best]}


def _save(out: Path, config: RunConfig, labels: LabelSet, vectorizer: Vectorizer, trainer: Trainer,
          metrics: dict[str, Any], evaluation: dict[str, Any] | None,
          thresholds: np.ndarray | None = None) -> None:
    from textbatch.artifacts import save_classifier

    save_classifier(out / "model", config, list(labels.names), vectorizer, trainer.model.cpu(),
                    thresholds=thresholds)
    write_json(out / "metrics.json", metrics)


def _report(timer: PhaseTimer, trainer: Trainer, splits: dict[str, Split],
            skipped: dict[str, int], vectorizer: Vectorizer, explored: dict) -> dict[str, Any]:
    seconds = dict(timer.seconds)
    seconds["total"] = timer.total()
    trained = sum(splits["train"].num_records for _ in trainer.history.epoch)
    return {
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "cpu_seconds": {k: round(v, 3) for k, v in timer.cpu_seconds.items()},
        "records_per_second": trained / seconds["train"] if seconds.get("train") else 0.0,
        "peak_rss_bytes": peak_rss_bytes(),
        "num_records": {name: split.num_records for name, split in splits.items()},
        "skipped_records": skipped,
        "pruned_ngrams": _pruned(vectorizer),
        "num_features": int(vectorizer.num_features),
        "explore": explored,
    }


def _pruned(vectorizer: Vectorizer) -> Any:
    for name in ("pruned_", "pruned_ngrams_", "report_"):
        value = getattr(vectorizer, name, None)
        if value is not None:
            return value
    return None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """``data`` as indented JSON at ``path``, written atomically (numpy floats as floats)."""
    from textbatch.io import atomic_write

    with atomic_write(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, default=float)
