"""fastText-style features: word and word-n-gram ids hashed into ``buckets``; nothing to fit.

Every token is hashed with the stable FNV-1a 64 of its UTF-8 bytes (``textbatch.text.hashing``),
n-gram hashes combine token hashes like fastText's ``addWordNgrams``, and ids are the hash modulo
``buckets`` (default 2M, fastText's ``-bucket``). Because the hash is a fixed function of the
bytes, the ids are the same in every process, worker and run: no vocabulary to save or ship.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from textbatch.config import VectorizeConfig
from textbatch.features.batch import SparseBatch
from textbatch.features.ngram import Chunks, Merge
from textbatch.features.persist import load_state, save_state
from textbatch.features.transform import ChunkTransformer
from textbatch.text.analyzer import Analyzer
from textbatch.text.hashing import combine_ngram_hashes, fnv1a_64_many


class HashedNgramVectorizer(ChunkTransformer):
    """Hashed unigram + n-gram ids with weight 1.0 per occurrence (bag of ids, like fastText)."""

    kind = "hashed"

    def __init__(self, config: VectorizeConfig | None = None) -> None:
        self.config = config or VectorizeConfig(kind="hashed")
        self.analyzer = Analyzer(self.config.ngram_range)

    def fit(self, open_chunks: Chunks | None = None, merge: Merge | None = None
            ) -> "HashedNgramVectorizer":
        """No pass needed: the hash is fixed. Kept for the common interface."""
        return self

    @property
    def num_features(self) -> int:
        return self.config.buckets

    def transform(self, texts: list[str]) -> SparseBatch:
        """Ids of each text's n-grams in text order (unigrams first, then 2-grams, ...)."""
        hashes, offsets = self.analyzer.encode(texts, fnv1a_64_many)
        hashes = hashes.view(np.uint64)  # encode hands ids back as int64; the bits are the hash
        min_n, max_n = self.config.ngram_range
        buckets = np.uint64(self.config.buckets)
        ids_parts, rows_parts = [], []
        if min_n == 1:
            ids_parts.append(hashes % buckets)
            rows_parts.append(np.repeat(np.arange(len(texts)), np.diff(offsets)))
        for n in range(max(min_n, 2), max_n + 1):
            values, rows = combine_ngram_hashes(hashes, offsets, n)
            ids_parts.append(values % buckets)
            rows_parts.append(rows)
        ids = np.concatenate(ids_parts).astype(np.int64) if ids_parts else np.zeros(0, np.int64)
        rows = np.concatenate(rows_parts) if rows_parts else np.zeros(0, np.int64)
        order = np.argsort(rows, kind="stable")
        out_offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(texts)), out=out_offsets[1:])
        return SparseBatch(ids[order], np.ones(len(ids), np.float32), out_offsets)

    def save(self, directory: str | Path) -> None:
        save_state(directory, self.kind, self.config, {}, {}, {})

    @classmethod
    def load(cls, directory: str | Path, config: VectorizeConfig | None = None
             ) -> "HashedNgramVectorizer":
        state, _, _ = load_state(directory, cls.kind, config)
        return cls(state["config"])
