"""From file lists to what the trainer eats: manifests, split sources, chunks and batch streams.

Every pass over text goes through a ``TextSource`` (seekable blocks of records); the training
stream reads the vectorized cache, so text is parsed and vectorized once, not once per epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

from textbatch.config import ReadConfig, RunConfig
from textbatch.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    from textbatch.data.labels import LabelSet
    from textbatch.data.manifest import Manifest
    from textbatch.data.source import BlockSource
    from textbatch.data.text_source import TextSource
    from textbatch.features import Vectorizer
    from textbatch.features.batch import SparseBatch


@dataclass
class Split:
    """One role of the data (train, val or test): its text source and record count."""

    name: str
    source: TextSource
    num_records: int


def build_manifest(inputs: list[str], config: RunConfig) -> Manifest:
    """Expand ``inputs`` to shards and build (or load the cached) manifest."""
    return read_manifest(inputs, config.read, config.stream.block_size)


def read_manifest(inputs: list[str], read: ReadConfig, block_size: int) -> Manifest:
    """The manifest of files/globs/directories/URLs ``inputs`` (built once, then cached)."""
    from textbatch.data.manifest import Manifest
    from textbatch.io import expand_shards

    return Manifest.build(expand_shards(list(inputs)), read, block_size)


def train_val_sources(manifest: Manifest, val_manifest: Manifest | None, val_fraction: float
                      ) -> tuple[TextSource, TextSource | None]:
    """The one train/validation split: all of ``manifest`` and all of ``val_manifest`` when
    validation files are given, else the stable-hash ``val_fraction`` split of ``manifest``
    (no validation at all when it is 0)."""
    from textbatch.data.text_source import TextSource

    if val_manifest is not None:
        return TextSource(manifest, "all"), TextSource(val_manifest, "all")
    if val_fraction <= 0:
        return TextSource(manifest, "all"), None
    return (TextSource(manifest, "train", val_fraction),
            TextSource(manifest, "val", val_fraction))


def make_splits(train_inputs: list[str], val_inputs: list[str], test_inputs: list[str],
                config: RunConfig) -> tuple[dict[str, Split], LabelSet, dict[str, int]]:
    """train/val(/test) sources: val from ``val_inputs`` or the stable-hash ``val_fraction``."""
    from textbatch.data.text_source import TextSource

    manifest = build_manifest(train_inputs, config)
    skipped = dict(manifest.skipped)
    labels = manifest.classes
    val_manifest = build_manifest(val_inputs, config) if val_inputs else None
    if val_manifest is not None:
        _merge(skipped, val_manifest.skipped)
    elif config.stream.val_fraction <= 0:
        raise ConfigError("No validation data: pass --val FILE or a --val-fraction > 0.")
    train, val = train_val_sources(manifest, val_manifest, config.stream.val_fraction)
    assert val is not None  # a validation file, or a fraction > 0
    splits = {"train": Split("train", train, len(train)), "val": Split("val", val, len(val))}
    if test_inputs:
        test_manifest = build_manifest(test_inputs, config)
        test = TextSource(test_manifest, "all")
        splits["test"] = Split("test", test, len(test))
        _merge(skipped, test_manifest.skipped)
    for split in splits.values():
        if split.num_records == 0:
            raise ConfigError(f"The {split.name} data has no records. Check the files and "
                              "--val-fraction.")
    if len(labels) < 2:
        raise ConfigError(f"Training needs at least 2 classes; the data has {list(labels.names)}.")
    return splits, labels, skipped


def resolve_task(task: str, manifest: Manifest, labels: LabelSet) -> tuple[LabelSet, str, str]:
    """The task of a run (``single`` or ``multilabel``), its label set and one line saying why.

    ``auto`` is multi-label exactly when some training record has several labels; ``single``
    refuses such data, naming the first record with several labels (training on its first label
    alone would change the task without telling anyone).
    """
    from textbatch.errors import DataError

    multi = manifest.multi_label
    several = (f"{multi['records']:,} of {manifest.num_records():,} training records have "
               f"several labels (up to {multi['max_labels']})")
    if task == "single" and multi["records"]:
        raise DataError(multi["path"], multi["line"], f"record has several labels, but --task "
                        f"is single ({several})", hint="Pass --task multilabel (or auto).")
    if task == "auto":
        task = "multilabel" if multi["records"] else "single"
        why = several if multi["records"] else "every training record has one label"
        note = f"Task: {task} (auto: {why})"
    else:
        note = f"Task: {task} (--task)"
    return labels.as_multilabel(task == "multilabel"), task, note


def text_batches(source: BlockSource, labels: LabelSet, vectorizer: Vectorizer,
                 chunk_size: int, spill_dir: str | Path | None = None,
                 workers: int | None = None) -> Iterator[SparseBatch]:
    """Labelled SparseBatches of a text source in file order (one pass, constant memory),
    vectorized in worker processes when the source is large enough (``fit_pool``; their rows
    are spilled under ``spill_dir`` meanwhile)."""
    from textbatch.pipeline.fit_pool import transform_in_parts

    return transform_in_parts(vectorizer, source, labels, chunk_size, workers, spill_dir)


def _merge(total: dict[str, int], more: dict[str, int]) -> None:
    for kind, count in more.items():
        total[kind] = total.get(kind, 0) + count

