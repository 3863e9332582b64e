"""The guide's n-gram vectorizer, fitted out of core: tf-idf over uni+bigrams, top_k by f_classif.

Two streaming passes, each holding only sufficient statistics:

1. document frequencies of every n-gram (``NgramCounter``, budget-bound) -> vocabulary of
   n-grams with ``df >= min_df`` (sorted, like scikit-learn) and ``idf_``;
2. per class: number of documents, sum and sum of squares of each feature's l2-normalized tf-idf
   value -> ``f_classif`` scores -> the ``top_k`` best (``selected_``). Multi-label data
   (0/1 label rows) keeps the same sums per label plus one group of all documents, and scores
   each feature by the max over labels of its per-label f_classif (``features/multilabel.py``).

Both reproduce scikit-learn's arithmetic operation for operation (``TfidfVectorizer(ngram_range=
(1, 2), min_df=2, strip_accents="unicode")`` + ``SelectKBest(f_classif, k)``): rows are normalized
over the whole min_df vocabulary *before* selection, class sums add rows in order as scipy's
sparse sum does, NaN scores rank lowest and ties go to the later column (stable argsort, last k).

Between passes the statistics are plain dicts of numpy arrays and lists, handed to ``merge`` (an
all-gather: it returns the list of every rank's statistics; ``[stats]`` on one process), so a
distributed fit sums them and every rank selects the same features.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from textbatch.config import VectorizeConfig
from textbatch.errors import CheckpointError, ConfigError, TextbatchError
from textbatch.features.batch import SparseBatch
from textbatch.features.counting import (MAX_TOKEN_ID, NgramCounter, bigram_keys, merge_parts,
                                         ngram_keys, reduce_counts, run_starts)
from textbatch.features.multilabel import ALL, multilabel_f_classif, row_groups
from textbatch.features.persist import check_length, load_state, save_state
from textbatch.features.selection import (
    f_classif_from_stats,
    nb_log_count_ratio,
    reduce_class_stats,
    select_k_best,
)
from textbatch.features.transform import ChunkTransformer
from textbatch.text.analyzer import Analyzer

Chunks = Callable[[], Iterable[tuple[list[str], np.ndarray]]]
# Bigram lookups use a binary search when the vocabulary's bigrams outnumber the queries this
# many times, else pyarrow's hash (built per call: ~48 ns a vocabulary key, ~40 ns a query,
# against ~150 ns a query for the search; measured on IMDB's 394k bigrams)
HASH_LOOKUP_RATIO = 2
Merge = Callable[[dict], list[dict]]


def single_process(stats: dict) -> list[dict]:
    """The all-gather of a one-process run."""
    return [stats]


class NgramVectorizer(ChunkTransformer):
    """tf-idf n-grams, top ``top_k`` by f_classif; ``transform`` gives SparseBatch rows."""

    kind = "ngram"

    def __init__(self, config: VectorizeConfig | None = None) -> None:
        self.config = config or VectorizeConfig(kind="ngram")
        if self.config.ngram_range[1] > 2:
            raise ConfigError(f"The n-gram vectorizer counts n-grams up to 2 (the guide's "
                              f"(1, 2)). Got ngram_range={self.config.ngram_range}.")
        self.analyzer = Analyzer(self.config.ngram_range)

    # ---- fitting -------------------------------------------------------------------------
    def fit(self, open_chunks: Chunks, merge: Merge | None = None,
            spill_dir: str | Path | None = None) -> "NgramVectorizer":
        """Two passes; see the module docstring. Texts are tokenized once: pass 1 spills the
        token ids to a temporary folder under ``spill_dir`` and pass 2 reads them back (unless
        the budget pruned tokens or ranks merge counts; then pass 2 reads the texts again)."""
        with tempfile.TemporaryDirectory(prefix="textbatch-tokens-", dir=spill_dir) as temp:
            self._fit(open_chunks, merge, None, Path(temp))
        return self

    def fit_transform(self, open_chunks: Chunks, merge: Merge | None = None,
                      spill_dir: str | Path | None = None, chunk_size: int = 4096
                      ) -> Iterator[SparseBatch]:
        """Fit, then yield the labelled rows of the same data with each text tokenized once:
        pass 2 also spills its full-vocabulary rows, and selection only remaps their columns.
        Spills live in temporary folders under ``spill_dir``, removed at the end."""
        from textbatch.features.cache import CacheSource, CacheWriter

        with tempfile.TemporaryDirectory(prefix="textbatch-spill-", dir=spill_dir) as temp:
            with CacheWriter(Path(temp) / "rows", durable=False) as spill:
                self._fit(open_chunks, merge, spill.append, Path(temp) / "tokens")
                spill.finish({})
            for batch in CacheSource(Path(temp) / "rows").iter_chunks(chunk_size):
                yield self._select_columns(batch)

    def _fit(self, open_chunks: Chunks, merge: Merge | None,
             on_rows: Callable[[SparseBatch], None] | None, token_dir: Path) -> None:
        from textbatch.features.cache import CacheSource, CacheWriter

        gather = merge or single_process
        min_count = self.config.min_df if merge is None else 1  # filter early when alone
        with CacheWriter(token_dir, durable=False) as spill:
            counter = self._count(open_chunks(), self.config.max_counted_ngrams,
                                  spill if merge is None else None)
            spill.finish({})
        counts = reduce_counts(gather(counter.result(min_count)), self.config.max_counted_ngrams)
        self._set_vocabulary(counts)
        if merge is None and counter.pruned == 0:  # every spilled id still names its token
            remap = self._remap(counter.tokens.ids)
            rows = ((self._tfidf_ids(remap[b.ids], b.offsets, len(b)), b.labels, len(b))
                    for b in CacheSource(token_dir).iter_chunks(4096))
        else:
            rows = ((self._tfidf(texts), labels, len(texts)) for texts, labels in open_chunks())
        stats = reduce_class_stats(gather(self._class_stats(rows, on_rows)))
        self._select(stats)

    def _remap(self, interned: dict[str, int]) -> np.ndarray:
        """Counting-pass token id -> vocabulary token id (-1: in no vocabulary n-gram)."""
        remap = np.full(max(interned.values(), default=-1) + 2, -1, dtype=np.int64)
        get = self._token_ids.get
        for token, index in interned.items():
            remap[index] = get(token, -1)
        return remap

    def count_pass(self, chunks: Iterable[tuple[list[str], np.ndarray]], min_count: int = 1
                   ) -> dict:
        """Pass 1: document frequencies of the n-grams, within the counting budget."""
        return self._count(chunks, self.config.max_counted_ngrams, None).result(min_count)

    def _count(self, chunks: Iterable[tuple[list[str], np.ndarray]], max_counted: int,
               spill: Any) -> NgramCounter:
        counter = NgramCounter(max_counted, self.config.ngram_range)
        for texts, labels in chunks:
            ids, offsets = self.analyzer.encode(texts, counter.tokens.intern)
            counter.add(ids, offsets)
            if spill is not None:  # token ids only; the weights file stays a placeholder
                spill.append(SparseBatch(ids, np.zeros(len(ids), np.float32), offsets,
                                         np.asarray(labels, np.int64)))
        return counter

    # ---- fitting in parts (one worker process each: textbatch.pipeline.fit_pool) -------------
    # The same two passes as ``_fit``, cut at its merge points so that each part of the data is
    # counted, and later turned into tf-idf rows, in its own process: counts merge in key form
    # (``merge_parts``), class statistics as in a distributed fit (``reduce_class_stats``).
    def count_part(self, chunks: Iterable[tuple[list[str], np.ndarray]], max_counted: int,
                   token_dir: Path) -> dict:
        """Pass 1 over one part: ``NgramCounter.part`` statistics under ``max_counted`` (this
        part's share of the budget), the part's token ids spilled to ``token_dir``."""
        from textbatch.features.cache import CacheWriter

        with CacheWriter(token_dir, durable=False) as spill:
            counter = self._count(chunks, max_counted, spill)
            spill.finish({})
        return counter.part()

    def set_vocabulary_from_parts(self, parts: list[dict]) -> None:
        """The min_df vocabulary and idf of every part's counts together."""
        self._set_vocabulary(merge_parts(parts, self.config.max_counted_ngrams,
                                         self.config.min_df, self.config.ngram_range[0]))

    def part_remap(self, part: dict) -> np.ndarray | None:
        """A part's token id -> vocabulary token id, or None when its budget pruned tokens (its
        spilled ids no longer all name a token: pass 2 then reads that part's text again)."""
        if part["pruned"]:
            return None
        return self._remap(dict(zip(part["tokens"], part["token_ids"].tolist())))

    def stats_part(self, token_dir: Path, remap: np.ndarray | None,
                   chunks: Iterable[tuple[list[str], np.ndarray]] | None,
                   rows_dir: Path | None) -> dict:
        """Pass 2 over one part: class statistics of its tf-idf rows, computed from its spilled
        token ids (``remap`` given) or from its text (``chunks``); the full-vocabulary rows go
        to ``rows_dir`` when given (``fit_transform``'s spill)."""
        from textbatch.features.cache import CacheSource, CacheWriter

        if remap is not None:
            rows = ((self._tfidf_ids(remap[b.ids], b.offsets, len(b)), b.labels, len(b))
                    for b in CacheSource(token_dir).iter_chunks(4096))
        else:
            rows = ((self._tfidf(texts), labels, len(texts)) for texts, labels in chunks or ())
        if rows_dir is None:
            return self._class_stats(rows, None)
        with CacheWriter(rows_dir, durable=False) as spill:
            stats = self._class_stats(rows, spill.append)
            spill.finish({})
        return stats

    def select_from_parts(self, parts: list[dict]) -> None:
        """Feature selection from every part's class statistics together."""
        self._select(reduce_class_stats(parts))

    def selected_rows(self, rows_dir: Path, chunk_size: int) -> Iterator[SparseBatch]:
        """The selected features' rows of full-vocabulary rows spilled by ``stats_part``."""
        from textbatch.features.cache import CacheSource

        for batch in CacheSource(rows_dir).iter_chunks(chunk_size):
            yield self._select_columns(batch)

    def lookup_copy(self) -> "NgramVectorizer":
        """This fitted vectorizer without its vocabulary strings: all a worker needs to make
        tf-idf rows, and small to send to one."""
        slim = copy.copy(self)
        slim.feature_names_all_, slim.document_frequency_ = [], np.zeros(0, np.int64)
        return slim

    def class_stats_pass(self, chunks: Iterable[tuple[list[str], np.ndarray]],
                         on_rows: Callable[[SparseBatch], None] | None = None) -> dict:
        """Pass 2: per-class document counts, sums and sums of squares of tf-idf values."""
        rows = ((self._tfidf(texts), labels, len(texts)) for texts, labels in chunks)
        return self._class_stats(rows, on_rows)

    def _class_stats(self, chunks: Iterable, on_rows: Callable[[SparseBatch], None] | None
                     ) -> dict:
        """Per-class statistics of ``((rows, cols, values), labels, num_rows)`` chunks
        (``on_rows`` receives each chunk's full-vocabulary rows, for ``fit_transform``)."""
        size = len(self.idf_)
        sums: dict[int, np.ndarray] = {}
        squares: dict[int, np.ndarray] = {}
        class_counts: dict[int, int] = {}
        for (rows, cols, values), labels, num_rows in chunks:
            labels = np.asarray(labels, dtype=np.int64)
            if on_rows is not None:
                on_rows(SparseBatch(cols, values.astype(np.float32),
                                    _row_offsets(rows, num_rows), labels))
            for label, members in row_groups(labels):  # classes, or ALL + each label present
                if label not in sums:
                    sums[label], squares[label] = np.zeros(size), np.zeros(size)
                    class_counts[label] = 0
                class_counts[label] += int(members.sum())
                mine = members[rows]
                np.add.at(sums[label], cols[mine], values[mine])  # in row order, like scipy
                np.add.at(squares[label], cols[mine], values[mine] ** 2)
        classes = np.array(sorted(sums), dtype=np.int64)
        return {"classes": classes,
                "class_counts": np.array([class_counts[c] for c in classes.tolist()], np.int64),
                "sums": np.array([sums[c] for c in classes.tolist()]).reshape(-1, size),
                "squares": np.array([squares[c] for c in classes.tolist()]).reshape(-1, size)}

    def _set_vocabulary(self, counts: dict) -> None:
        """Vocabulary and idf from counting statistics (``counts["sorted"]``: ``merge_parts``
        already kept the min_df n-grams and sorted them, so no Python pass over them here)."""
        if counts.get("sorted"):
            ngrams, frequency = counts["ngrams"], np.asarray(counts["counts"], np.int64)
        else:
            keep = np.asarray(counts["counts"]) >= self.config.min_df
            ngrams = [g for g, k in zip(counts["ngrams"], keep.tolist()) if k]
            order = string_order(ngrams)
            ngrams = [ngrams[i] for i in order]
            frequency = np.asarray(counts["counts"])[keep][order].astype(np.int64)
        if not ngrams:
            raise TextbatchError(f"Empty vocabulary: no n-gram occurs in min_df="
                                 f"{self.config.min_df} documents. Try a smaller --min-df.")
        self.feature_names_all_ = ngrams
        self.document_frequency_ = frequency
        self.num_documents_ = int(counts["num_docs"])
        self.pruned_ngrams_ = int(counts["pruned"])
        n = self.num_documents_ + 1  # smooth_idf: one extra document containing every term
        self.idf_ = np.log(n / (self.document_frequency_.astype(np.float64) + 1)) + 1
        self._build_lookup()

    def _select(self, stats: dict) -> None:
        multilabel = len(stats["classes"]) > 0 and stats["classes"][0] == ALL
        self.scores_ = (multilabel_f_classif(stats) if multilabel else  # max over labels
                        f_classif_from_stats(stats["class_counts"], stats["sums"],
                                             stats["squares"]))
        self.selected_ = select_k_best(self.scores_, self.config.top_k)
        # NB scaling is a two-class ratio: off for multi-label data (see features/multilabel.py)
        binary = self.config.nb_scale and not multilabel and len(stats["classes"]) == 2
        self.feature_scale_ = (nb_log_count_ratio(stats["sums"][:, self.selected_]) if binary
                               else np.ones(len(self.selected_)))
        self._set_output_index()

    # ---- vectorizing ---------------------------------------------------------------------
    def transform(self, texts: list[str]) -> SparseBatch:
        """Selected tf-idf features of each text (ids in [0, num_features), float32)."""
        rows, cols, values = self._tfidf(texts)
        out = self._output_index[cols]
        keep = out >= 0
        return SparseBatch(out[keep], self._scaled(out[keep], values[keep]),
                           _row_offsets(rows[keep], len(texts)))

    def _scaled(self, ids: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Output weights: tf-idf values times each feature's scale (1 unless ``nb_scale``)."""
        # float32 x float32 in both paths (transform, and the float32 rows fit_transform spills),
        # so the cache and on-the-fly vectors are bit-identical
        return values.astype(np.float32) * self._scale32[ids]

    def _select_columns(self, batch: SparseBatch) -> SparseBatch:
        """Full-vocabulary rows (as spilled by pass 2) -> the selected features' rows."""
        out = self._output_index[batch.ids]
        keep = out >= 0
        rows = np.repeat(np.arange(len(batch)), np.diff(batch.offsets))
        return SparseBatch(out[keep], self._scaled(out[keep], batch.weights[keep]),
                           _row_offsets(rows[keep], len(batch)), batch.labels)

    def _tfidf(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, value) over the whole min_df vocabulary, sorted by row then column,
        l2-normalized per row with scikit-learn's summation order."""
        ids, offsets = self.analyzer.encode(texts, self._lookup_tokens)
        return self._tfidf_ids(ids, offsets, len(texts))

    def _tfidf_ids(self, ids: np.ndarray, offsets: np.ndarray, num_rows: int) -> tuple[
            np.ndarray, np.ndarray, np.ndarray]:
        """``_tfidf`` from vocabulary token ids (CSR; -1 for tokens in no vocabulary n-gram)."""
        keys, rows = ngram_keys(ids, offsets, self.config.ngram_range)
        # Look every key up (unsorted), then sort the known (row, column) pairs packed into one
        # integer: that order is CSR order with columns ascending inside each row, and equal
        # pairs are adjacent, so their run lengths are the term frequencies. One sort of 32-bit
        # values when they fit, instead of sorting 64-bit keys and then the rows (issue 12).
        cols = self._key_columns(keys)
        known = cols >= 0
        col_bits = max(len(self.idf_) - 1, 1).bit_length()
        wide = (max(num_rows - 1, 1).bit_length() + col_bits) > 32
        pairs = ((rows[known].astype(np.uint64 if wide else np.uint32) << col_bits)
                 | cols[known].astype(np.uint64 if wide else np.uint32))
        pairs.sort()
        starts = run_starts(pairs)
        tf = np.diff(np.append(starts, len(pairs))).astype(np.float64)
        pairs = pairs[starts]
        rows = (pairs >> col_bits).astype(np.int64)
        cols = (pairs & ((1 << col_bits) - 1)).astype(np.int64)
        if self.config.sublinear_tf:
            tf = np.log(tf) + 1
        values = tf * self.idf_[cols]
        norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=num_rows))
        return rows, cols, values / norms[rows]

    def _lookup_tokens(self, tokens: list[str]) -> np.ndarray:
        get = self._token_ids.get
        return np.fromiter((get(t, -1) for t in tokens), np.int64, len(tokens))

    def _key_columns(self, keys: np.ndarray) -> np.ndarray:
        """The column of each packed key, -1 where it is not in the vocabulary. Unigrams index a
        token -> column table. Bigrams (unsorted queries) go through pyarrow's hash lookup when
        they are many, as in a fit's 4,096-row chunks (IMDB: 56 vs 143 ms for a binary search),
        but the hash is rebuilt from the whole vocabulary on every call, so few queries against
        a large vocabulary (``predict`` on one text, millions of bigrams) use the binary search.
        """
        # ``ngram_keys`` puts every unigram key (a token id <= MAX_TOKEN_ID) before the bigrams
        unigrams = int(np.count_nonzero(keys <= MAX_TOKEN_ID))
        cols = np.empty(len(keys), np.int64)
        cols[:unigrams] = self._unigram_columns[keys[:unigrams]]
        cols[unigrams:] = self._bigram_columns[self._bigram_positions(keys[unigrams:])]
        return cols

    def _bigram_positions(self, queries: np.ndarray) -> np.ndarray:
        """Position of each bigram key in ``_bigram_keys`` (sorted), -1 when absent."""
        vocabulary = self._bigram_keys
        if len(vocabulary) > HASH_LOOKUP_RATIO * len(queries):  # so never with no vocabulary
            found = np.minimum(np.searchsorted(vocabulary, queries), len(vocabulary) - 1)
            return np.where(vocabulary[found] == queries, found, -1)
        import pyarrow as pa
        import pyarrow.compute as pc

        found = pc.index_in(pa.array(queries), value_set=pa.array(vocabulary))
        return found.fill_null(-1).to_numpy()

    def _build_lookup(self) -> None:
        """Token ids of the vocabulary's tokens and the column of every unigram and bigram key
        (pyarrow splits and dictionary-encodes the n-grams, so no Python loop over the
        vocabulary)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        parts = pc.split_pattern(pa.array(self.feature_names_all_, pa.large_string()), " ")
        encoded = pc.dictionary_encode(parts.flatten())
        tokens = encoded.indices.to_numpy().astype(np.int64)
        self._token_ids = dict(zip(encoded.dictionary.to_pylist(), range(len(encoded.dictionary))))
        lengths = pc.list_value_length(parts).to_numpy().astype(np.int64)
        ends = lengths.cumsum()
        last, first = tokens[ends - 1], tokens[np.maximum(ends - 2, 0)]
        unigram = lengths == 1
        self._unigram_columns = np.full(len(self._token_ids) + 1, -1, np.int64)
        self._unigram_columns[last[unigram]] = np.flatnonzero(unigram)
        keys = bigram_keys(first[~unigram], last[~unigram])
        order = np.argsort(keys)  # sorted for the binary search of ``_bigram_positions``
        self._bigram_keys = keys[order]
        # position -1 (not found) reads the -1 appended at the end
        self._bigram_columns = np.append(np.flatnonzero(~unigram)[order], -1)

    def _set_output_index(self) -> None:
        self._scale32 = self.feature_scale_.astype(np.float32)  # cast once, not per batch
        self._output_index = np.full(len(self.idf_), -1, dtype=np.int64)
        self._output_index[self.selected_] = np.arange(len(self.selected_))

    @property
    def vocabulary_(self) -> dict[str, int]:
        """n-gram -> column over the whole min_df vocabulary (scikit-learn's attribute; built on
        demand: a dict of a million n-grams costs more than a small run's fit)."""
        return dict(zip(self.feature_names_all_, range(len(self.feature_names_all_))))

    @property
    def num_features(self) -> int:
        return len(self.selected_)

    def get_feature_names_out(self) -> list[str]:
        """The n-gram of each output id."""
        return [self.feature_names_all_[i] for i in self.selected_.tolist()]

    def top_ngrams(self, n: int) -> list[tuple[str, int]]:
        """The ``n`` counted n-grams in most documents (ties by string), for explore's plot."""
        order = np.lexsort((np.arange(len(self.idf_)), -self.document_frequency_))[:n]
        return [(self.feature_names_all_[i], int(self.document_frequency_[i])) for i in order]

    # ---- persistence ---------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        save_state(directory, self.kind, self.config,
                   {"num_documents": self.num_documents_, "pruned_ngrams": self.pruned_ngrams_},
                   {"idf": self.idf_, "selected": self.selected_, "scores": self.scores_,
                    "document_frequency": self.document_frequency_,
                    "feature_scale": self.feature_scale_},
                   {"vocabulary": self.feature_names_all_})

    @classmethod
    def load(cls, directory: str | Path, config: VectorizeConfig | None = None
             ) -> "NgramVectorizer":
        state, arrays, lists = load_state(directory, cls.kind, config)
        self = cls(state["config"])
        self.feature_names_all_ = lists["vocabulary"]
        size = len(self.feature_names_all_)
        for name in ("idf", "scores", "document_frequency"):
            check_length(Path(directory), f"{name}.npy", arrays[name], size)
        self.idf_, self.scores_ = arrays["idf"], arrays["scores"]
        self.document_frequency_, self.selected_ = arrays["document_frequency"], arrays["selected"]
        self.feature_scale_ = arrays["feature_scale"]
        check_length(Path(directory), "feature_scale.npy", self.feature_scale_, len(self.selected_))
        if len(self.selected_) and (self.selected_.min() < 0 or self.selected_.max() >= size):
            raise CheckpointError(f"{Path(directory) / 'selected.npy'}: column ids outside the "
                                  f"vocabulary of {size}. The saved vectorizer is damaged; "
                                  "re-fit it.")
        self.num_documents_, self.pruned_ngrams_ = state["num_documents"], state["pruned_ngrams"]
        self._build_lookup()
        self._set_output_index()
        return self


def string_order(strings: list[str]) -> np.ndarray:
    """Indices that sort ``strings`` as Python does (UTF-8 byte order is code point order)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.sort_indices(pa.array(strings, pa.large_string())).to_numpy()


def _row_offsets(rows: np.ndarray, num_rows: int) -> np.ndarray:
    """CSR offsets of row numbers sorted ascending."""
    offsets = np.zeros(num_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=num_rows), out=offsets[1:])
    return offsets
