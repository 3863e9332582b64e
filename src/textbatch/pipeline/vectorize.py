"""Fit a vectorizer, write its vectorized cache and stamp both with one key: the only place this
happens (``textbatch train``, ``textbatch vectorize``, ``textbatch.keras`` and tuning all call
``fit_and_cache``), and the only rule that decides whether a fitted pair may be reused.

**The key** (``cache_key``) is what the cache was built from: every shard's manifest key (url,
size, mtime, content hash, reader options), the split and its ``val_fraction``, an optional
record ``limit``, the class names and the vectorizer settings. An edited file or another setting
never reuses an old cache.

**The reuse rule** (``reusable_vectorizer``): a fitted vectorizer is reused, and its cache read
instead of re-vectorizing, iff the cache opens with exactly this key (complete, same format) AND
the vectorizer folder is stamped (``cache_key.json``) with the same key. The stamp is written
last, inside the vectorizer folder's single rename, so a run killed between the two writes leaves
an old stamp and the pair is rebuilt, never mismatched.

Layout: the caller names the two folders (``vectorize``: ``OUT/cache`` + ``OUT/vectorizer``;
``train``: ``OUT/cache/train`` + ``OUT/checkpoints/vectorizer``; Keras: ``CACHE/train`` +
``CACHE/vectorizer``). Other splits are written with the fitted vectorizer by ``cache_split``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textbatch.config import ReadConfig, VectorizeConfig
from textbatch.data.chunked import record_chunks

if TYPE_CHECKING:
    from textbatch.data.labels import LabelSet
    from textbatch.data.source import BlockSource
    from textbatch.data.manifest import Manifest
    from textbatch.data.text_source import TextSource
    from textbatch.features import Vectorizer
    from textbatch.train.collectives import DistContext

CHUNK = 4_096  # texts vectorized together
CACHE_DIR = "cache"
VECTORIZER_DIR = "vectorizer"
CACHE_KEY_FILE = "cache_key.json"  # in the vectorizer folder: the key of the cache it made


def cache_key(manifest: Manifest, split: str, val_fraction: float, config: VectorizeConfig,
              limit: int | None = None) -> dict[str, Any]:
    """What a cache is built from; any difference means rebuild."""
    from textbatch.features.cache import FORMAT_VERSION
    from textbatch.io import redact

    key = {"format_version": FORMAT_VERSION,
           "shards": [{"url": redact(shard.url), "key": shard.key} for shard in manifest.shards],
           "split": split, "val_fraction": val_fraction,
           "classes": list(manifest.classes.names), "vectorize": config.to_dict()}
    if limit:
        key["limit"] = int(limit)
    return key


def source_key(source: TextSource, config: VectorizeConfig, limit: int | None = None
               ) -> dict[str, Any]:
    """``cache_key`` of one split's text source (its manifest, split and fraction)."""
    return cache_key(source.manifest, source.split, source.val_fraction, config, limit)


@dataclass
class FittedCache:
    """What ``fit_and_cache`` gives: the fitted vectorizer, its cache folder, whether the pair
    on disk was reused (no pass over the text at all), and the other split's cache when the fit
    wrote it too (``other_split``; else None)."""

    vectorizer: Vectorizer
    cache: Path
    reused: bool
    other_cache: Path | None = None


def reusable_vectorizer(cache_dir: Path, vectorizer_dir: Path, key: dict[str, Any],
                        config: VectorizeConfig | None = None) -> Vectorizer | None:
    """The reuse rule: the vectorizer in ``vectorizer_dir`` when the cache at ``cache_dir`` opens
    with ``key`` and the vectorizer is stamped with the same ``key``; else None."""
    from textbatch.features import load_vectorizer
    from textbatch.features.cache import open_cache

    if open_cache(cache_dir, key) is None or not _stamped_with(vectorizer_dir, key):
        return None
    return load_vectorizer(vectorizer_dir, config)


def fit_and_cache(source: BlockSource, labels: LabelSet, config: VectorizeConfig,
                  cache_dir: Path, vectorizer_dir: Path, key: dict[str, Any], *,
                  block_size: int, reuse: bool = True, spill_dir: Path | None = None,
                  dist: DistContext | None = None, workers: int | None = None,
                  other_split: tuple[BlockSource, Path, dict[str, Any]] | None = None
                  ) -> FittedCache:
    """Reuse the pair on disk (the reuse rule, when ``reuse``), or fit a vectorizer of
    ``config.kind`` on ``source``, write its vectorized cache to ``cache_dir`` and save it to
    ``vectorizer_dir`` stamped with ``key`` (stamp last).

    One process fits and caches in the same go (``fit_transform``: text tokenized twice in all);
    the n-gram vectorizer spreads both passes over ``workers`` processes (default
    ``fit_pool.workers_for``: the CPUs, one process for small sources; see ``fit_pool``). Under
    DDP (``dist``) each rank fits on its blocks, statistics merged; rank 0 alone writes the
    cache and the vectorizer, the others wait for the cache.

    ``other_split`` = (source, cache folder, key) of the split ``source`` leaves out of the same
    file (the stable-hash validation split of a train split): when the fit runs in worker
    processes, it writes that split's cache too, from the records it reads anyway, as
    ``cache_split`` would (``FittedCache.other_cache``); otherwise the caller runs
    ``cache_split``.
    """
    cache_dir, vectorizer_dir = Path(cache_dir), Path(vectorizer_dir)
    key = _with_label_layout(key, labels)
    other_cache = None
    reused = reusable_vectorizer(cache_dir, vectorizer_dir, key, config) if reuse else None
    if reused is not None:
        return FittedCache(reused, cache_dir, True)
    if spill_dir is not None:
        Path(spill_dir).mkdir(parents=True, exist_ok=True)
    if dist is not None and dist.is_distributed:
        vectorizer = fit_vectorizer(dist.blocks_of(source), labels, config, dist)
        dist.rank_zero_builds(cache_dir, lambda: cache_split(
            vectorizer, source, labels, cache_dir, key, block_size))
    else:
        rest = None
        if other_split is not None and _is_the_rest_of(other_split[0], source, labels):
            rest = (Path(other_split[1]), _with_label_layout(other_split[2], labels))
        vectorizer, wrote_rest = fit_to_cache(source, labels, config, cache_dir, key,
                                              block_size, spill_dir, workers, rest)
        if wrote_rest:
            other_cache = rest[0]
    if dist is None or dist.is_rank_zero:
        _save_stamped(vectorizer, vectorizer_dir, key)
    return FittedCache(vectorizer, cache_dir, False, other_cache)


def fit_to_cache(source: BlockSource, labels: LabelSet, config: VectorizeConfig,
                 cache_dir: Path, key: dict[str, Any], block_size: int,
                 spill_dir: Path | None = None, workers: int | None = None,
                 rest_cache: tuple[Path, dict[str, Any]] | None = None
                 ) -> tuple[Vectorizer, bool]:
    """A vectorizer of ``config.kind`` fitted on ``source``, whose rows of ``source`` are
    written as the cache at ``cache_dir`` (one process: ``fit_transform`` + ``write_cache``;
    the n-gram fit in ``workers`` processes: ``fit_pool.fit_ngram_to_cache``, which also writes
    ``rest_cache`` when given). Returns the vectorizer and whether ``rest_cache`` was written."""
    from textbatch.features import make_vectorizer
    from textbatch.features.cache import write_cache
    from textbatch.pipeline.fit_pool import fit_ngram_to_cache

    vectorizer = make_vectorizer(config)
    workers = _fit_workers(source, config, workers)
    if workers > 1:
        fit_ngram_to_cache(vectorizer, source, labels, workers, cache_dir, key, block_size,
                           spill_dir, rest_cache)
        return vectorizer, rest_cache is not None
    write_cache(cache_dir, vectorizer.fit_transform(record_chunks(source, labels, CHUNK),
                                                    spill_dir=spill_dir, chunk_size=CHUNK),
                key, block_size)
    return vectorizer, False


def fit_vectorizer(source: BlockSource, labels: LabelSet, config: VectorizeConfig,
                   dist: DistContext | None = None, workers: int | None = None) -> Vectorizer:
    """A vectorizer of ``config.kind`` fitted in streaming passes over ``source``, nothing
    written (for batches vectorized on the fly); ``dist`` merges every rank's statistics; alone,
    an n-gram fit runs in ``workers`` processes (``fit_and_cache``'s default)."""
    from textbatch.features import make_vectorizer
    from textbatch.pipeline.fit_pool import fit_ngram_parallel

    vectorizer = make_vectorizer(config)
    if dist is not None and dist.is_distributed:
        vectorizer.fit(record_chunks(source, labels, CHUNK), merge=dist.merge)
        return vectorizer
    workers = _fit_workers(source, config, workers)
    if workers > 1:
        return fit_ngram_parallel(vectorizer, source, labels, workers)
    vectorizer.fit(record_chunks(source, labels, CHUNK))
    return vectorizer


def _is_the_rest_of(other: BlockSource, source: BlockSource, labels: LabelSet) -> bool:
    """Whether ``other`` is exactly the records ``source`` leaves out of its file: the two
    stable-hash splits of one manifest at one fraction (single-label data only)."""
    from textbatch.data.text_source import TextSource

    return (isinstance(source, TextSource) and isinstance(other, TextSource)
            and not labels.multilabel and other.manifest is source.manifest
            and other.val_fraction == source.val_fraction
            and {source.split, other.split} == {"train", "val"})


def _fit_workers(source: BlockSource, config: VectorizeConfig, workers: int | None) -> int:
    """Processes of a one-rank fit: the n-gram fit alone runs in parts (see ``fit_pool``)."""
    from textbatch.pipeline.fit_pool import workers_for

    if config.kind != "ngram":
        return 1
    return workers_for(int(source.block_sizes.sum()), workers)


def cache_split(vectorizer: Vectorizer, source: BlockSource, labels: LabelSet, cache_dir: Path,
                key: dict[str, Any], block_size: int, workers: int | None = None) -> Path:
    """Vectorize ``source`` (another split) with the fitted ``vectorizer`` into ``cache_dir``,
    always rewritten: its rows come from this call's vectorizer (in ``workers`` processes,
    ``fit_pool.transform_in_parts``)."""
    from textbatch.features.cache import write_cache
    from textbatch.pipeline.fit_pool import transform_in_parts

    cache_dir = Path(cache_dir)
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    rows = transform_in_parts(vectorizer, source, labels, CHUNK, workers, cache_dir.parent)
    return write_cache(cache_dir, rows, _with_label_layout(key, labels), block_size)


def _with_label_layout(key: dict[str, Any], labels: LabelSet) -> dict[str, Any]:
    """``key`` plus how labels are stored (ids or multi-label indicator rows): the same text
    cached for the other task must never be reused."""
    return {**key, "multilabel": bool(labels.multilabel)}


def _save_stamped(vectorizer: Vectorizer, folder: Path, key: dict[str, Any]) -> None:
    """Save the vectorizer whole (one rename) with the key of the cache it made."""
    from textbatch.io import atomic_dir

    with atomic_dir(folder) as temp:
        vectorizer.save(temp)
        (Path(temp) / CACHE_KEY_FILE).write_text(json.dumps(key), encoding="utf-8")


def _stamped_with(folder: Path, key: dict[str, Any]) -> bool:
    """Whether the vectorizer saved in ``folder`` was fitted with the cache of ``key``."""
    try:
        saved = json.loads((folder / CACHE_KEY_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return saved == json.loads(json.dumps(key))  # compared as JSON (tuples become lists)


# -- textbatch vectorize ------------------------------------------------------------------------

@dataclass
class VectorizeReport:
    """The run report of one vectorize: sizes, budget pruning and time."""

    out_dir: str
    num_records: int
    num_features: int
    nnz: int
    pruned_ngrams: int
    reused: bool
    seconds: float
    skipped_records: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def vectorize_files(inputs: list[str], out_dir: str | Path, read_config: ReadConfig | None = None,
                    config: VectorizeConfig | None = None, *, split: str = "all",
                    val_fraction: float = 0.0, block_size: int = 1024,
                    force: bool = False) -> VectorizeReport:
    """Fit a vectorizer on ``inputs`` and write ``out_dir/vectorizer`` and ``out_dir/cache``;
    an up-to-date pair (the reuse rule) is kept unless ``force``."""
    from textbatch.data import Manifest, TextSource
    from textbatch.features.cache import CacheSource
    from textbatch.io import expand_shards

    from textbatch.io.run_folder import claim

    start = time.perf_counter()
    read_config, config = read_config or ReadConfig(), config or VectorizeConfig()
    out_dir = claim(out_dir, "vectorize", overwrite=force)  # one writer; see io.run_folder
    manifest = Manifest.build(expand_shards(inputs), read_config, block_size)
    # multi-label data (any record with several labels) is vectorized with label rows
    labels = manifest.classes.as_multilabel(bool(manifest.multi_label["records"]))
    fitted = fit_and_cache(TextSource(manifest, split, val_fraction), labels, config,
                           out_dir / CACHE_DIR, out_dir / VECTORIZER_DIR,
                           cache_key(manifest, split, val_fraction, config),
                           block_size=block_size, reuse=not force, spill_dir=out_dir)
    cache, vectorizer = CacheSource(fitted.cache), fitted.vectorizer
    return VectorizeReport(str(out_dir), len(cache), vectorizer.num_features,
                           int(cache.manifest["nnz"]),
                           int(getattr(vectorizer, "pruned_ngrams_", 0)), fitted.reused,
                           round(time.perf_counter() - start, 3), dict(manifest.skipped))
