"""The guide's sequence vectorizer, fitted out of core: the ``top_k`` most frequent tokens.

Keras' ``Tokenizer(num_words=top_k)`` counts every token of the training set in memory; here one
streaming pass counts occurrences with the same budget-bound counter as the n-gram path. Ids: 0 is
padding, 1 is out-of-vocabulary, words from 2 in order of frequency (ties by the token string, so
the result does not depend on chunking or ranks). Output rows are *unpadded* ids cut to
``max_sequence_length`` on the ``padding`` side (Keras ``pad_sequences`` truncates on the same
side as it pads in the guide: 'pre' keeps the end of long texts); the model pads with
``SparseBatch.to_tensors(sequence_length)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from textbatch.config import VectorizeConfig
from textbatch.errors import TextbatchError
from textbatch.features.batch import SparseBatch
from textbatch.features.counting import NgramCounter, reduce_counts
from textbatch.features.ngram import Chunks, Merge, single_process, string_order
from textbatch.features.persist import load_state, save_state
from textbatch.features.transform import ChunkTransformer
from textbatch.text.analyzer import Analyzer

PADDING_ID = 0
OOV_ID = 1
FIRST_WORD_ID = 2


class SequenceVectorizer(ChunkTransformer):
    """Token id sequences over the ``top_k`` most frequent tokens."""

    kind = "sequence"

    def __init__(self, config: VectorizeConfig | None = None) -> None:
        self.config = config or VectorizeConfig(kind="sequence")
        self.analyzer = Analyzer((1, 1))

    def fit(self, open_chunks: Chunks, merge: Merge | None = None) -> "SequenceVectorizer":
        """One pass: token occurrence counts (budget-bound), merged across ranks if asked."""
        counter = NgramCounter(self.config.max_counted_ngrams, (1, 1), per_document=False)
        for texts, _ in open_chunks():
            counter.add(*self.analyzer.encode(texts, counter.tokens.intern))
        counts = reduce_counts((merge or single_process)(counter.result()),
                               self.config.max_counted_ngrams)
        self._set_vocabulary(counts["ngrams"], np.asarray(counts["counts"]))
        self.pruned_ngrams_ = int(counts["pruned"])
        return self

    def _set_vocabulary(self, tokens: list[str], counts: np.ndarray) -> None:
        if not tokens:
            raise TextbatchError("Empty vocabulary: the training texts have no word tokens.")
        by_string = string_order(tokens)
        order = by_string[np.argsort(-counts[by_string], kind="stable")][: self.config.top_k]
        self.tokens_ = [tokens[i] for i in order.tolist()]
        self.counts_ = counts[order].astype(np.int64)
        self.vocabulary_ = {t: i + FIRST_WORD_ID for i, t in enumerate(self.tokens_)}

    @property
    def num_features(self) -> int:
        """Embedding rows the model needs: the words plus padding and out-of-vocabulary."""
        return self.config.top_k + FIRST_WORD_ID

    def _lookup(self, tokens: list[str]) -> np.ndarray:
        get = self.vocabulary_.get
        return np.fromiter((get(t, OOV_ID) for t in tokens), np.int64, len(tokens))

    def transform(self, texts: list[str]) -> SparseBatch:
        """Unpadded ids of each text, cut to ``max_sequence_length`` (weights are 1)."""
        ids, offsets = self.analyzer.encode(texts, self._lookup)
        lengths = np.diff(offsets)
        kept = np.minimum(lengths, self.config.max_sequence_length)
        rows = np.repeat(np.arange(len(lengths)), lengths)
        position = np.arange(len(ids)) - offsets[rows]
        if self.config.padding == "pre":  # keep the last tokens, like pad_sequences' default
            keep = position >= (lengths - kept)[rows]
        else:
            keep = position < kept[rows]
        out_offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(kept, out=out_offsets[1:])
        return SparseBatch(ids[keep], np.ones(int(keep.sum()), np.float32), out_offsets)

    def top_ngrams(self, n: int) -> list[tuple[str, int]]:
        """The ``n`` most frequent tokens and their counts."""
        return list(zip(self.tokens_[:n], self.counts_[:n].tolist()))

    def save(self, directory: str | Path) -> None:
        save_state(directory, self.kind, self.config, {"pruned_ngrams": self.pruned_ngrams_},
                   {"counts": self.counts_}, {"tokens": self.tokens_})

    @classmethod
    def load(cls, directory: str | Path, config: VectorizeConfig | None = None
             ) -> "SequenceVectorizer":
        state, arrays, lists = load_state(directory, cls.kind, config)
        self = cls(state["config"])
        self._set_vocabulary(lists["tokens"], arrays["counts"])
        self.pruned_ngrams_ = state["pruned_ngrams"]
        return self
