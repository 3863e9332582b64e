"""Files -> fitted vectorizer + vectorized cache: what ``textbatch vectorize`` (and training,
when it vectorizes once) runs.

The chunks come from ``textbatch.data`` in file order (blocks read one after another, so gzip
shards are decompressed linearly), labels become ids through the manifest's ``LabelSet``. The
cache key is the data identity (every shard's manifest key: url, size, mtime, content hash,
reader options), the split and the vectorizer settings, so an edited file or another setting
never reuses an old cache.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from textbatch.config import ReadConfig, VectorizeConfig
from textbatch.data.chunked import chunked
from textbatch.features.cache import FORMAT_VERSION, CacheSource, open_cache, write_cache
from textbatch.io import atomic_dir, redact

CACHE_DIR = "cache"
VECTORIZER_DIR = "vectorizer"
CACHE_KEY_FILE = "cache_key.json"  # in vectorizer/: the key of the cache it was fitted with


def record_chunks(source: Any, classes: Any, chunk_size: int = 4096):
    """``open_chunks`` over a BlockSource of Records: ``(texts, label ids)`` in source order."""
    def open_chunks() -> Iterator[tuple[list[str], np.ndarray]]:
        records = (record for block in range(len(source.block_sizes))
                   for record in source.read_block(block))
        for chunk in chunked(records, chunk_size):
            labels = [classes.id(record.label, record.path, record.line) for record in chunk]
            yield [record.text for record in chunk], np.array(labels, dtype=np.int64)
    return open_chunks


def cache_key(manifest: Any, split: str, val_fraction: float, config: VectorizeConfig) -> dict:
    """What a cache was built from; any difference means rebuild."""
    return {"format_version": FORMAT_VERSION,
            "shards": [{"url": redact(shard.url), "key": shard.key} for shard in manifest.shards],
            "split": split, "val_fraction": val_fraction,
            "classes": list(manifest.classes.names), "vectorize": config.to_dict()}


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

    def to_json(self) -> dict:
        return asdict(self)


def vectorize_files(inputs: list[str], out_dir: str | Path, read_config: ReadConfig | None = None,
                    config: VectorizeConfig | None = None, *, split: str = "all",
                    val_fraction: float = 0.0, block_size: int = 1024, chunk_size: int = 4096,
                    force: bool = False) -> VectorizeReport:
    """Fit a vectorizer on ``inputs`` and write ``out_dir/vectorizer`` and ``out_dir/cache``;
    an up-to-date cache (same key) is reused unless ``force``."""
    from textbatch.data import Manifest, TextSource
    from textbatch.features import load_vectorizer, make_vectorizer
    from textbatch.io import expand_shards

    start = time.perf_counter()
    read_config, config = read_config or ReadConfig(), config or VectorizeConfig()
    out_dir = Path(out_dir)
    manifest = Manifest.build(expand_shards(inputs), read_config, block_size)
    key = cache_key(manifest, split, val_fraction, config)
    cached = None if force else open_cache(out_dir / CACHE_DIR, key)
    if cached is not None and _fitted_with(out_dir / VECTORIZER_DIR, key):
        vectorizer = load_vectorizer(out_dir / VECTORIZER_DIR, config)
        return _report(out_dir, cached, vectorizer, True, start, manifest.skipped)
    source = TextSource(manifest, split, val_fraction)
    vectorizer = make_vectorizer(config)
    open_chunks = record_chunks(source, manifest.classes, chunk_size)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = vectorizer.fit_transform(open_chunks, spill_dir=out_dir, chunk_size=chunk_size)
    write_cache(out_dir / CACHE_DIR, rows, key, block_size)
    # The vectorizer goes in last, whole (one rename), stamped with the cache's key: a run killed
    # between the two writes leaves an old stamp, so the pair is rebuilt, never mismatched.
    with atomic_dir(out_dir / VECTORIZER_DIR) as folder:
        vectorizer.save(folder)
        (folder / CACHE_KEY_FILE).write_text(json.dumps(key), encoding="utf-8")
    return _report(out_dir, CacheSource(out_dir / CACHE_DIR), vectorizer, False, start,
                   manifest.skipped)


def _fitted_with(folder: Path, key: dict) -> bool:
    """Whether the vectorizer saved in ``folder`` was fitted with the cache of ``key``."""
    try:
        saved = json.loads((folder / CACHE_KEY_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return saved == json.loads(json.dumps(key))  # compared as JSON (tuples become lists)


def _report(out_dir: Path, cache: CacheSource, vectorizer: Any, reused: bool,
            start: float, skipped: dict[str, int]) -> VectorizeReport:
    return VectorizeReport(str(out_dir), len(cache), vectorizer.num_features,
                           int(cache.manifest["nnz"]), int(getattr(vectorizer, "pruned_ngrams_", 0)),
                           reused, round(time.perf_counter() - start, 3), dict(skipped))
