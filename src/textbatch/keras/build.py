"""Train/validation ``BatchSequence``s from file paths in one call.

The steps are the guide's, made streaming: a manifest pass over each input (counts, labels, seek
points), vectorizer fitting in streaming passes over the training blocks (never a whole-set
matrix), then either on-the-fly vectorization of every batch or, with ``cache_dir``, one more pass
per input that writes its vectorized records to the cache so every epoch reads numbers, not text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np

from textbatch.config import ReadConfig, StreamConfig, VectorizeConfig
from textbatch.data import BatchStream, LabelSet, Manifest, TextSource
from textbatch.data.views import FirstRecords
from textbatch.errors import ConfigError
from textbatch.features.batch import SparseBatch
from textbatch.keras.sequence import BatchSequence

# The layout each vectorizer's batches take by default: hashed ids span millions of buckets, so
# they are never made dense.
DEFAULT_OUTPUT = {"ngram": "dense", "hashed": "ids_weights", "sequence": "tokens"}


class VectorizeRecords:
    """``BatchStream`` transform: Records -> labelled ``SparseBatch``. A plain object (not a
    closure) so that Keras's worker processes can receive it by fork or by pickle."""

    def __init__(self, vectorizer: Any, labels: LabelSet) -> None:
        self.vectorizer, self.labels = vectorizer, labels

    def __call__(self, records: Sequence) -> SparseBatch:
        batch = self.vectorizer.transform([r.text for r in records])
        batch.labels = self.labels.encode(records)
        return batch


def block_chunks(source: Any, labels: LabelSet):
    """``open_chunks`` for ``vectorizer.fit``: one (texts, label ids) pair per block, a fresh
    iterator per call (one call per pass the vectorizer makes)."""

    def open_chunks() -> Iterator[tuple[list[str], np.ndarray]]:
        for index in range(len(source.block_sizes)):
            records = source.read_block(index)
            if len(records):
                yield [r.text for r in records], labels.encode(records)

    return open_chunks


@dataclass
class KerasData:
    """What ``text_sequences`` made: the sequences plus what a model builder needs."""

    train: BatchSequence
    val: BatchSequence | None
    vectorizer: Any
    labels: LabelSet
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_features(self) -> int:
        return int(self.vectorizer.num_features)

    @property
    def num_classes(self) -> int:
        return len(self.labels)


def text_source(inputs: str | Sequence[str], read: ReadConfig, stream: StreamConfig,
                limit: int | None = None) -> tuple[Any, Manifest]:
    """A ``TextSource`` over files/globs/directories/URLs (optionally their first ``limit``
    records) and its manifest."""
    from textbatch.io import expand_shards

    inputs = [inputs] if isinstance(inputs, str) else list(inputs)
    manifest = Manifest.build(expand_shards(inputs), read, stream.block_size)
    source: Any = TextSource(manifest, "all")
    return (FirstRecords(source, limit) if limit else source), manifest


def fit_vectorizer(source: Any, labels: LabelSet, vectorize: VectorizeConfig) -> Any:
    """A vectorizer of ``vectorize.kind`` fitted in streaming passes over ``source``."""
    from textbatch.features import make_vectorizer

    vectorizer = make_vectorizer(vectorize)
    vectorizer.fit(block_chunks(source, labels))
    return vectorizer


def text_sequences(
    train: str | Sequence[str],
    val: str | Sequence[str] | None = None,
    *,
    vectorize: VectorizeConfig = VectorizeConfig(),
    read: ReadConfig = ReadConfig(),
    stream: StreamConfig = StreamConfig(batch_size=128),
    output: str | None = None,
    vectorizer: Any = None,
    cache_dir: str | None = None,
    limit: int | None = None,
    **pydataset_kwargs: Any,
) -> KerasData:
    """Train (and validation) ``BatchSequence``s from text files, in one call.

    Args:
        train, val: files, globs, directories or URLs. Without ``val`` the training files are
            split by stable hash with ``stream.val_fraction`` (0 = no validation sequence).
        vectorize: which vectorizer to fit (ignored when ``vectorizer`` is given, already fitted).
        stream: batch_size, seed, shuffle_buffer, block_size, val_fraction.
        output: the Keras input layout; default by vectorizer kind (ngram -> "dense",
            hashed -> "ids_weights", sequence -> "tokens").
        cache_dir: vectorize the training (and validation) records once into
            ``cache_dir/train`` (``/val``) and read batches from there: later epochs read
            numbers, not text, and Keras's shuffled batch indices cost a row gather instead of a
            window of text. Without it every batch is read and vectorized from the text.
        limit: use only the first ``limit`` records of each input (quick runs).
        pydataset_kwargs: ``workers``, ``use_multiprocessing``, ``max_queue_size``.
    """
    train_source, manifest = text_source(train, read, stream, limit)
    labels = manifest.classes
    val_source = None
    if val is not None:
        val_source, _ = text_source(val, read, stream, limit)
    elif stream.val_fraction > 0:
        train_source, val_source = _hash_split(manifest, stream, limit)
    if vectorizer is None:
        vectorizer = fit_vectorizer(train_source, labels, vectorize)
    fitted = getattr(vectorizer, "config", vectorize)  # a given vectorizer brings its settings
    layout = output or DEFAULT_OUTPUT[fitted.kind]
    options = {"num_features": vectorizer.num_features,
               "sequence_length": fitted.max_sequence_length, "padding": fitted.padding,
               **pydataset_kwargs}
    train_stream = _stream(train_source, labels, vectorizer, stream, cache_dir, "train")
    train_seq = BatchSequence(train_stream, layout, **options)
    val_seq = None
    if val_source is not None:
        val_stream = _stream(val_source, labels, vectorizer, stream, cache_dir, "val")
        val_seq = BatchSequence(val_stream, layout, **options)
    info = {"train_records": train_stream.num_records,
            "val_records": val_seq.num_records if val_seq is not None else 0}
    return KerasData(train_seq, val_seq, vectorizer, labels, info)


def _hash_split(manifest: Manifest, stream: StreamConfig, limit: int | None) -> tuple[Any, Any]:
    train = TextSource(manifest, "train", stream.val_fraction)
    val = TextSource(manifest, "val", stream.val_fraction)
    if limit:
        return FirstRecords(train, limit), FirstRecords(val, limit)
    return train, val


def _stream(source: Any, labels: LabelSet, vectorizer: Any, stream: StreamConfig,
            cache_dir: str | None, role: str) -> BatchStream:
    """The batch stream of one role: training reshuffles every epoch, validation keeps file
    order. With ``cache_dir`` the role is vectorized once into ``cache_dir/role``."""
    options = {"shuffle": role == "train", "seed": stream.seed,
               "shuffle_buffer": stream.shuffle_buffer}
    if cache_dir is None:
        return BatchStream(source, stream.batch_size,
                           transform=VectorizeRecords(vectorizer, labels), **options)
    cache = vectorize_to_cache(source, labels, vectorizer, f"{cache_dir}/{role}", stream)
    return BatchStream(cache, stream.batch_size, transform=cache.gather, **options)


def vectorize_to_cache(source: Any, labels: LabelSet, vectorizer: Any, cache_dir: str,
                         stream: StreamConfig) -> Any:
    """Vectorize ``source`` once, block by block, into ``cache_dir`` and open it.

    The cache is always rewritten: its rows come from this call's vectorizer and records, so it
    can never be stale (one extra pass over the text, paid once instead of once per epoch).
    """
    from textbatch.features.cache import CacheSource, write_cache

    to_batch = VectorizeRecords(vectorizer, labels)
    chunks = (to_batch(source.read_block(i)) for i in range(len(source.block_sizes))
              if source.block_sizes[i])
    key = {"written_by": "textbatch.keras", "vectorizer": vectorizer.config.to_dict(),
           "num_features": int(vectorizer.num_features), "classes": list(labels.names)}
    return CacheSource(write_cache(cache_dir, chunks, key, block_size=stream.block_size))


def cache_sequences(
    train_cache: str,
    val_cache: str | None = None,
    *,
    num_features: int | None = None,
    output: str = "dense",
    stream: StreamConfig = StreamConfig(batch_size=128),
    sequence_length: int | None = None,
    padding: str = "pre",
    **pydataset_kwargs: Any,
) -> tuple[BatchSequence, BatchSequence | None]:
    """Sequences over vectorized caches already on disk (``textbatch vectorize --out DIR``):
    the training one reshuffled every epoch, the validation one in cache order."""
    from textbatch.features.cache import CacheSource

    options = {"num_features": num_features, "sequence_length": sequence_length,
               "padding": padding, **pydataset_kwargs}
    train = CacheSource(train_cache)
    train_seq = BatchSequence(
        BatchStream(train, stream.batch_size, shuffle=True, seed=stream.seed,
                    shuffle_buffer=stream.shuffle_buffer, transform=train.gather),
        output, **options)  # type: ignore[arg-type]
    if val_cache is None:
        return train_seq, None
    val = CacheSource(val_cache)
    val_stream = BatchStream(val, stream.batch_size, shuffle=False, transform=val.gather)
    val_seq = BatchSequence(val_stream, output, **options)  # type: ignore[arg-type]
    return train_seq, val_seq
