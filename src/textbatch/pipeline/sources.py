"""From file lists to what the trainer eats: manifests, split sources, chunks and batch streams.

Every pass over text goes through a ``TextSource`` (seekable blocks of records); the training
stream reads the vectorized cache, so text is parsed and vectorized once, not once per epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from textbatch.config import RunConfig
from textbatch.data.labels import LabelSet
from textbatch.errors import ConfigError


@dataclass
class Split:
    """One role of the data (train, val or test): its text source and record count."""

    name: str
    source: Any  # textbatch.data.TextSource
    num_records: int


def build_manifest(inputs: list[str], config: RunConfig):
    """Expand ``inputs`` to shards and build (or load the cached) manifest."""
    from textbatch.data.manifest import Manifest
    from textbatch.io import expand_shards

    return Manifest.build(expand_shards(list(inputs)), config.read, config.stream.block_size)


def make_splits(train_inputs: list[str], val_inputs: list[str], test_inputs: list[str],
                config: RunConfig) -> tuple[dict[str, Split], LabelSet, dict[str, int]]:
    """train/val(/test) sources: val from ``val_inputs`` or the stable-hash ``val_fraction``."""
    from textbatch.data.text_source import TextSource

    manifest = build_manifest(train_inputs, config)
    skipped = dict(manifest.skipped)
    labels = manifest.classes
    if val_inputs:
        train = TextSource(manifest, "all")
        val_manifest = build_manifest(val_inputs, config)
        val = TextSource(val_manifest, "all")
        _merge(skipped, val_manifest.skipped)
    else:
        if config.stream.val_fraction <= 0:
            raise ConfigError("No validation data: pass --val FILE or a --val-fraction > 0.")
        fraction = config.stream.val_fraction
        train = TextSource(manifest, "train", fraction)
        val = TextSource(manifest, "val", fraction)
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


def text_batches(source: Any, labels: LabelSet, vectorizer: Any, chunk_size: int) -> Iterator[Any]:
    """Labelled SparseBatches of a text source in file order (one pass, constant memory)."""
    from textbatch.features.pipeline import record_chunks

    return vectorizer.iter_transform(record_chunks(source, labels, chunk_size)())


def _merge(total: dict[str, int], more: dict[str, int]) -> None:
    for kind, count in more.items():
        total[kind] = total.get(kind, 0) + count

