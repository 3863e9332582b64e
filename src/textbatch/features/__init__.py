"""Features: the numbers learned from data, and the vectorized cache.

Owns: streaming counts under a memory budget (``counting``), vocabularies and idf (``ngram``),
f_classif / naive-Bayes / select-k-best (``selection``), token sequences (``sequence``), hashed
n-grams (``hashed``), their JSON/.npy persistence (``persist``) and the vectorize-once cache
(``cache``). Leaves reading text to ``textbatch.readers``/``textbatch.data`` and batch order to
``textbatch.data``: vectorizers see ``(texts, labels)`` chunks and give ``SparseBatch`` rows;
strings die here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Union

from textbatch.config import VectorizeConfig
from textbatch.errors import ConfigError
from textbatch.features.batch import SparseBatch

if TYPE_CHECKING:
    from textbatch.features.hashed import HashedNgramVectorizer
    from textbatch.features.ngram import NgramVectorizer
    from textbatch.features.sequence import SequenceVectorizer

    Vectorizer = Union[NgramVectorizer, SequenceVectorizer, HashedNgramVectorizer]

__all__ = ["SparseBatch", "make_vectorizer", "load_vectorizer", "VECTORIZERS"]

# kind -> "module:class"; imported on use so ``import textbatch.features`` stays light.
VECTORIZERS = {
    "ngram": "textbatch.features.ngram:NgramVectorizer",
    "sequence": "textbatch.features.sequence:SequenceVectorizer",
    "hashed": "textbatch.features.hashed:HashedNgramVectorizer",
}


def _vectorizer_class(kind: str) -> type:
    if kind not in VECTORIZERS:
        raise ConfigError(f"Unknown vectorizer {kind!r}. Known: {sorted(VECTORIZERS)}.")
    import importlib

    module, name = VECTORIZERS[kind].split(":")
    return getattr(importlib.import_module(module), name)


def make_vectorizer(config: VectorizeConfig) -> "Vectorizer":
    """An unfitted vectorizer of ``config.kind`` with ``config``'s settings."""
    return _vectorizer_class(config.kind)(config)


def load_vectorizer(directory: str | Path, config: VectorizeConfig | None = None) -> "Vectorizer":
    """A fitted vectorizer saved with ``save(directory)``; with ``config``, settings must match."""
    from textbatch.features.persist import read_state

    return _vectorizer_class(read_state(directory)["kind"]).load(directory, config)
