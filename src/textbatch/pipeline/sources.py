"""From file lists to what the trainer eats: manifests, split sources, chunks and batch streams.

Every pass over text goes through a ``TextSource`` (seekable blocks of records); the training
stream reads the vectorized cache, so text is parsed and vectorized once, not once per epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from textbatch.config import RunConfig
from textbatch.data.labels import LabelSet
from textbatch.errors import ConfigError

Chunks = Callable[[], Iterator[tuple[list[str], np.ndarray]]]


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


def block_chunks(source: Any, labels: LabelSet) -> Chunks:
    """``open_chunks`` for ``vectorizer.fit``: one (texts, label ids) pair per manifest block."""

    def open_chunks() -> Iterator[tuple[list[str], np.ndarray]]:
        for index in range(len(source.block_sizes)):
            records = source.read_block(index)
            if records:
                yield [r.text for r in records], labels.encode(records)

    return open_chunks


def text_batches(source: Any, labels: LabelSet | None, vectorizer: Any,
                 batch_size: int) -> Iterator[Any]:
    """Vectorized SparseBatches of a text source in file order (one pass, constant memory)."""
    for texts, ids in _rebatch(block_chunks(source, labels)() if labels else _texts(source),
                               batch_size):
        batch = vectorizer.transform(texts)
        batch.labels = ids
        yield batch


def _texts(source: Any) -> Iterator[tuple[list[str], None]]:
    for index in range(len(source.block_sizes)):
        yield [r.text for r in source.read_block(index)], None


def _rebatch(chunks, size: int):
    texts: list[str] = []
    ids: list[np.ndarray] = []
    for chunk_texts, chunk_ids in chunks:
        texts.extend(chunk_texts)
        if chunk_ids is not None:
            ids.append(chunk_ids)
        while len(texts) >= size:
            yield texts[:size], _head(ids, size)
            texts = texts[size:]
            ids = _tail(ids, size)
    if texts:
        yield texts, _head(ids, len(texts))


def _head(ids: list[np.ndarray], size: int) -> np.ndarray | None:
    return np.concatenate(ids)[:size] if ids else None


def _tail(ids: list[np.ndarray], size: int) -> list[np.ndarray]:
    return [np.concatenate(ids)[size:]] if ids else []


def _merge(total: dict[str, int], more: dict[str, int]) -> None:
    for kind, count in more.items():
        total[kind] = total.get(kind, 0) + count


def cache_folder(out: Path, name: str) -> Path:
    return out / "cache" / name
