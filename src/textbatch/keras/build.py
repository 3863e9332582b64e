"""Train/validation ``BatchSequence``s from file paths in one call: a pure adapter.

The steps are the pipeline's, handed to Keras: manifests and the train/validation split
(``textbatch.pipeline.sources``), then either a streaming fit (``fit_vectorizer``) and
on-the-fly vectorization of every batch or, with ``cache_dir``, the pipeline's ``fit_and_cache``
(fit + the train cache in one go, reused when ``cache_dir`` already holds a pair with the same
key) and ``cache_split`` for validation, so every epoch reads numbers, not text. Nothing here
decides a split, a cache key or a reuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from textbatch.config import ReadConfig, StreamConfig, VectorizeConfig
from textbatch.data import BatchStream, LabelSet
from textbatch.data.source import BlockSource
from textbatch.data.views import FirstRecords
from textbatch.features.batch import SparseBatch
from textbatch.features.cache import CacheSource
from textbatch.keras.sequence import BatchSequence
from textbatch.pipeline.sources import read_manifest, train_val_sources
from textbatch.pipeline.vectorize import (
    VECTORIZER_DIR,
    cache_split,
    fit_and_cache,
    fit_vectorizer,
    source_key,
)

if TYPE_CHECKING:
    from textbatch.data.text_source import TextSource
    from textbatch.features import Vectorizer

# The layout each vectorizer's batches take by default: hashed ids span millions of buckets, so
# they are never made dense.
DEFAULT_OUTPUT = {"ngram": "dense", "hashed": "ids_weights", "sequence": "tokens"}


class VectorizeRecords:
    """``BatchStream`` transform: Records -> labelled ``SparseBatch``. A plain object (not a
    closure) so that Keras's worker processes can receive it by fork or by pickle."""

    def __init__(self, vectorizer: Vectorizer, labels: LabelSet) -> None:
        self.vectorizer, self.labels = vectorizer, labels

    def __call__(self, records: Sequence) -> SparseBatch:
        batch = self.vectorizer.transform([r.text for r in records])
        batch.labels = self.labels.encode(records)
        return batch


@dataclass
class KerasData:
    """What ``text_sequences`` made: the sequences plus what a model builder needs."""

    train: BatchSequence
    val: BatchSequence | None
    vectorizer: Vectorizer
    labels: LabelSet
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_features(self) -> int:
        return int(self.vectorizer.num_features)

    @property
    def num_classes(self) -> int:
        return len(self.labels)


def text_sequences(
    train: str | Sequence[str],
    val: str | Sequence[str] | None = None,
    *,
    vectorize: VectorizeConfig = VectorizeConfig(),
    read: ReadConfig = ReadConfig(),
    stream: StreamConfig = StreamConfig(batch_size=128),
    output: str | None = None,
    vectorizer: Vectorizer | None = None,
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
            window of text. The fitted vectorizer is kept in ``cache_dir/vectorizer`` and a
            later call with the same data and settings reuses both (the pipeline's reuse rule).
            Without it every batch is read and vectorized from the text.
        limit: use only the first ``limit`` records of each input (quick runs).
        pydataset_kwargs: ``workers``, ``use_multiprocessing``, ``max_queue_size``.
    """
    inputs = _sources(train, val, read, stream, limit)
    labels = inputs.labels
    if vectorizer is None:
        vectorizer = (fit_vectorizer(inputs.train, labels, vectorize) if cache_dir is None else
                      _fit(inputs, vectorize, stream, Path(cache_dir)))
    elif cache_dir is not None:  # a given vectorizer: its train cache is written, like every other split
        inputs.write_cache("train", vectorizer, Path(cache_dir), stream)
    fitted = vectorizer.config  # a given vectorizer brings its settings
    layout = output or DEFAULT_OUTPUT[fitted.kind]
    options = {"num_features": vectorizer.num_features,
               "sequence_length": fitted.max_sequence_length, "padding": fitted.padding,
               **pydataset_kwargs}
    if cache_dir is not None and inputs.val is not None:
        inputs.write_cache("val", vectorizer, Path(cache_dir), stream)
    train_stream = _stream(inputs, "train", vectorizer, stream, cache_dir)
    train_seq = BatchSequence(train_stream, layout, **options)
    val_seq = None
    if inputs.val is not None:
        val_seq = BatchSequence(_stream(inputs, "val", vectorizer, stream, cache_dir), layout,
                                **options)
    info = {"train_records": train_stream.num_records,
            "val_records": val_seq.num_records if val_seq is not None else 0}
    return KerasData(train_seq, val_seq, vectorizer, labels, info)


@dataclass
class _Inputs:
    """The train (and validation) sources of one call: views (``limit``) over the pipeline's
    split of text sources, whose identity makes each role's cache key."""

    train: BlockSource
    val: BlockSource | None
    labels: LabelSet
    texts: dict[str, TextSource]  # role -> the text source under the view
    limit: int | None

    def source(self, role: str) -> BlockSource:
        return self.train if role == "train" else self.val  # type: ignore[return-value]

    def key(self, role: str, config: VectorizeConfig) -> dict[str, Any]:
        return source_key(self.texts[role], config, self.limit)

    def write_cache(self, role: str, vectorizer: Vectorizer, cache_dir: Path,
                    stream: StreamConfig) -> None:
        cache_split(vectorizer, self.source(role), self.labels, cache_dir / role,
                    self.key(role, vectorizer.config), stream.block_size)


def _sources(train: str | Sequence[str], val: str | Sequence[str] | None, read: ReadConfig,
             stream: StreamConfig, limit: int | None) -> _Inputs:
    """The pipeline's manifests and train/validation split, optionally the first ``limit``
    records of each."""
    manifest = read_manifest(_as_list(train), read, stream.block_size)
    val_manifest = read_manifest(_as_list(val), read, stream.block_size) if val is not None \
        else None
    train_text, val_text = train_val_sources(manifest, val_manifest, stream.val_fraction)
    texts = {"train": train_text, **({"val": val_text} if val_text is not None else {})}
    views = {role: FirstRecords(text, limit) if limit else text for role, text in texts.items()}
    return _Inputs(views["train"], views.get("val"), manifest.classes, texts, limit)


def _fit(inputs: _Inputs, vectorize: VectorizeConfig, stream: StreamConfig,
         cache_dir: Path) -> Vectorizer:
    """Fit on the training records and cache them in the same go (the pipeline's
    ``fit_and_cache``: reused when ``cache_dir`` holds a pair with this very key)."""
    return fit_and_cache(inputs.train, inputs.labels, vectorize, cache_dir / "train",
                         cache_dir / VECTORIZER_DIR, inputs.key("train", vectorize),
                         block_size=stream.block_size, spill_dir=cache_dir).vectorizer


def _as_list(inputs: str | Sequence[str]) -> list[str]:
    return [inputs] if isinstance(inputs, str) else list(inputs)


def _stream(inputs: _Inputs, role: str, vectorizer: Vectorizer, stream: StreamConfig,
            cache_dir: str | None) -> BatchStream:
    """The batch stream of one role: training reshuffles every epoch, validation keeps file
    order. With ``cache_dir`` it reads ``cache_dir/role``, else vectorizes every batch."""
    options = {"shuffle": role == "train", "seed": stream.seed,
               "shuffle_buffer": stream.shuffle_buffer}
    if cache_dir is None:
        return BatchStream(inputs.source(role), stream.batch_size,
                           transform=VectorizeRecords(vectorizer, inputs.labels), **options)
    cache = CacheSource(Path(cache_dir, role))
    return BatchStream(cache, stream.batch_size, transform=cache.gather, **options)


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
