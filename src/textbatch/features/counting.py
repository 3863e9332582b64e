"""Counting n-grams in streaming passes under a stated memory budget.

Tokens are interned to integer ids (a dict, the only per-token Python work) and n-grams become
int64 keys built arithmetically in numpy: a unigram's key is its token id, a bigram's is
``(id1 + 1) << 32 | id2`` (ids stay below 2**31, so keys never collide). Counts live in one sorted
key array merged chunk by chunk (searchsorted + insert, no re-sort of the table).

The budget: at most ``max_counted`` distinct n-grams (unigrams included). When the table passes
75% of it, the threshold rises by one and every n-gram counted fewer times is dropped, like
fastText's dictionary; dropped tokens leave the intern table too, so memory stays bounded however
many rows stream by. A bigram is never counted more often than its tokens, so a bigram never
outlives its tokens. ``pruned`` says how many distinct n-grams were dropped.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np

MAX_TOKEN_ID = 2**31 - 1
PRUNE_FRACTION = 0.75


def run_starts(ordered: np.ndarray) -> np.ndarray:
    """Indices where a run of equal values starts in the sorted array ``ordered`` (none when it
    is empty: a chunk of empty texts, or one whose n-grams are all unknown)."""
    new = np.ones(len(ordered), bool)
    new[1:] = ordered[1:] != ordered[:-1]
    return np.flatnonzero(new)


def unique_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and their counts. Sort-based on purpose: numpy 2's hash-based
    ``np.unique`` is pathologically slow on packed keys that share their low bits (seen: 20 s
    of a 60 s IMDB fit)."""
    ordered = np.sort(values)
    starts = run_starts(ordered)
    return ordered[starts], np.diff(np.append(starts, len(ordered))).astype(np.int64)


def distinct_rows_per_key(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys and in how many distinct rows each occurs (document frequency).

    One stable sort: every occurrence of a key comes from the same part of ``ngram_keys``' output
    (unigrams or bigrams), each in row order, so rows stay ascending within a key's run and a
    new (key, row) pair is wherever the key or the row changes.
    """
    keys, rows = sort_by_key(keys, rows)
    new_key = np.concatenate(([True], keys[1:] != keys[:-1]))
    new_pair = new_key | np.concatenate(([True], rows[1:] != rows[:-1]))
    starts = np.flatnonzero(new_key)
    return keys[starts], np.add.reduceat(new_pair.astype(np.int64), starts)


def sort_by_key(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``keys`` and ``rows`` ordered by (key, row): what a stable argsort by key gives when rows
    ascend within each key, as ``ngram_keys`` makes them.

    When the token ids and rows are small enough, key and row are packed into one int64 and
    sorted by value (numpy's SIMD quicksort): ~8x less CPU than ``argsort`` plus two gathers,
    the largest cost of a fit (issue 12). Packing: ``(first + 1) << b | last`` with ``b`` bits
    for the largest id keeps the order of the (first + 1, last) keys; it needs
    ``2 b + 1 + 16 <= 63``, i.e. ids below 2**23 and rows below 2**16, else argsort runs.
    """
    if not len(keys):
        return keys, rows
    bits = int((keys & 0xFFFFFFFF).max()).bit_length()
    if 2 * bits + 17 > 63 or int(rows.max()) >= 2**16:
        order = np.argsort(keys, kind="stable")
        return keys[order], rows[order]
    packed = (((keys >> 32) << bits | (keys & 0xFFFFFFFF)) << 16) | rows
    packed.sort()
    compact = packed >> 16
    return ((compact >> bits) << 32) | (compact & ((1 << bits) - 1)), packed & 0xFFFF


def bigram_keys(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Key of the bigram (first, second) of non-negative token ids."""
    return ((first + 1) << 32) | second


def key_tokens(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of the key packing: (first id or -1 for unigrams, last id)."""
    return (keys >> 32) - 1, keys & 0xFFFFFFFF


def ngram_keys(ids: np.ndarray, offsets: np.ndarray, ngram_range: tuple[int, int]) -> tuple[
        np.ndarray, np.ndarray]:
    """Keys and row numbers of every n-gram of CSR token ids (ids < 0 are unknown tokens and
    break n-grams): every unigram first, then every bigram, each in row order (callers rely on
    both). Supports n <= 2: the packing holds two token ids."""
    rows = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    known = ids >= 0
    parts_keys, parts_rows = [], []
    if ngram_range[0] == 1:
        parts_keys.append(ids[known])
        parts_rows.append(rows[known])
    if ngram_range[1] >= 2 and len(ids) > 1:
        pair = (rows[:-1] == rows[1:]) & known[:-1] & known[1:]
        parts_keys.append(bigram_keys(ids[:-1][pair], ids[1:][pair]))
        parts_rows.append(rows[:-1][pair])
    if not parts_keys:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(parts_keys), np.concatenate(parts_rows)


class TokenTable:
    """Interns token strings to ids that are never reused (so a dropped token that comes back
    starts counting afresh, as in fastText)."""

    def __init__(self) -> None:
        self._next = itertools.count()
        self.ids: defaultdict[str, int] = defaultdict(self._next.__next__)

    def intern(self, tokens: list[str]) -> np.ndarray:
        ids = np.fromiter(map(self.ids.__getitem__, tokens), np.int64, len(tokens))
        if len(ids) and ids.max() > MAX_TOKEN_ID:
            raise OverflowError("more than 2**31 token ids were interned in one pass")
        return ids

    def keep(self, live_ids: np.ndarray) -> None:
        """Forget every token whose id is not in the sorted array ``live_ids``."""
        tokens = list(self.ids)
        ids = np.fromiter(self.ids.values(), np.int64, len(tokens))
        pos = np.minimum(np.searchsorted(live_ids, ids), max(len(live_ids) - 1, 0))
        alive = live_ids[pos] == ids if len(live_ids) else np.zeros(len(ids), bool)
        survivors = defaultdict(self._next.__next__)
        survivors.update((tokens[i], int(ids[i])) for i in np.flatnonzero(alive))
        self.ids = survivors

    def strings(self, ids: np.ndarray) -> list[str]:
        """Token strings of ``ids`` (all must be live)."""
        inverse = {i: t for t, i in self.ids.items()}
        return [inverse[i] for i in ids.tolist()]


class NgramCounter:
    """Document (or occurrence) frequencies of n-grams, at most ``max_counted`` held at once."""

    def __init__(self, max_counted: int = 4_000_000, ngram_range: tuple[int, int] = (1, 2),
                 per_document: bool = True) -> None:
        self.max_counted = max_counted
        self.ngram_range = (1, ngram_range[1])  # unigrams always counted: they carry liveness
        self.min_n = ngram_range[0]
        self.per_document = per_document
        self.tokens = TokenTable()
        self.keys = np.zeros(0, np.int64)
        self.counts = np.zeros(0, np.int64)
        self.num_docs = 0
        self.threshold = 1
        self.pruned = 0
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_size = 0

    def add(self, ids: np.ndarray, offsets: np.ndarray) -> None:
        """Count the n-grams of one chunk of interned token ids (CSR)."""
        self.num_docs += len(offsets) - 1
        keys, rows = ngram_keys(ids, offsets, self.ngram_range)
        if self.per_document and len(keys):
            local_keys, counts = distinct_rows_per_key(keys, rows)
        else:
            local_keys, counts = unique_counts(keys)
        self._pending.append((local_keys, counts.astype(np.int64)))
        self._pending_size += len(local_keys)
        if self._pending_size > max(self.max_counted // 8, 1):
            self.flush()

    def update(self, texts: list[str]) -> None:
        """Tokenize and count a chunk of texts with the guide's analyzer (explore's entry)."""
        if not hasattr(self, "analyzer"):
            from textbatch.text.analyzer import Analyzer

            self.analyzer = Analyzer((self.min_n, self.ngram_range[1]))
        self.add(*self.analyzer.encode(texts, self.tokens.intern))

    def most_common(self, n: int) -> list[tuple[str, int]]:
        """The ``n`` most counted n-grams (ties by string), as ``collections.Counter`` says it."""
        self.flush()
        keys, counts = self.keys, self.counts
        if self.min_n == 2:
            keys, counts = keys[keys > MAX_TOKEN_ID], counts[keys > MAX_TOKEN_ID]
        if n <= 0 or not len(keys):
            return []
        cutoff = np.partition(counts, len(counts) - min(n, len(counts)))[-min(n, len(counts))]
        candidates = counts >= cutoff  # every n-gram that can make the top n, ties included
        pairs = zip(self.strings(keys[candidates]), counts[candidates].tolist())
        return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))[:n]

    def flush(self) -> None:
        """Merge pending chunk counts into the table, then prune if over the budget."""
        if not self._pending:
            return
        keys = np.concatenate([k for k, _ in self._pending])
        counts = np.concatenate([c for _, c in self._pending])
        self._pending, self._pending_size = [], 0
        order = np.argsort(keys, kind="stable")  # sorted runs: timsort merges them cheaply
        keys, counts = keys[order], counts[order]
        starts = run_starts(keys)
        keys, counts = keys[starts], np.add.reduceat(counts, starts)
        self._merge_sorted(keys, counts)
        self._prune()

    def _merge_sorted(self, keys: np.ndarray, counts: np.ndarray) -> None:
        pos = np.searchsorted(self.keys, keys)
        found = pos < len(self.keys)
        found[found] = self.keys[pos[found]] == keys[found]
        self.counts[pos[found]] += counts[found]
        new = ~found
        self.keys = np.insert(self.keys, pos[new], keys[new])
        self.counts = np.insert(self.counts, pos[new], counts[new])

    def _prune(self) -> None:
        limit = int(PRUNE_FRACTION * self.max_counted)
        if len(self.keys) <= limit:
            return
        while len(self.keys) > limit:
            self.threshold += 1
            keep = self.counts >= self.threshold
            self.pruned += int((~keep).sum())
            self.keys, self.counts = self.keys[keep], self.counts[keep]
        self.tokens.keep(self.keys[self.keys <= MAX_TOKEN_ID])

    def strings(self, keys: np.ndarray) -> list[str]:
        """The n-gram strings of packed keys (space-joined tokens, as scikit-learn writes them)."""
        first, last = key_tokens(keys)
        needed = np.unique(np.concatenate([first[first >= 0], last]))
        names = dict(zip(needed.tolist(), self.tokens.strings(needed)))
        return [names[b] if a < 0 else f"{names[a]} {names[b]}"
                for a, b in zip(first.tolist(), last.tolist())]

    def part(self) -> dict:
        """Mergeable statistics in key form, for ``merge_parts``: the table's packed keys over
        this counter's own token ids, and the strings of the live ids (no n-gram strings are
        built, so a worker process hands back a few arrays, not millions of strings)."""
        self.flush()
        tokens = list(self.tokens.ids)
        return {"num_docs": self.num_docs, "keys": self.keys, "counts": self.counts,
                "pruned": self.pruned, "threshold": self.threshold, "tokens": tokens,
                "token_ids": np.fromiter(self.tokens.ids.values(), np.int64, len(tokens))}

    def result(self, min_count: int = 1) -> dict:
        """Plain, mergeable statistics: n-gram strings and counts (``min_count`` filters first,
        which is only right when nothing will be merged in afterwards)."""
        self.flush()
        keys, counts = self.keys, self.counts
        if self.min_n == 2:  # unigrams were counted for liveness only
            keys, counts = keys[keys > MAX_TOKEN_ID], counts[keys > MAX_TOKEN_ID]
        keep = counts >= min_count
        return {"num_docs": self.num_docs, "ngrams": self.strings(keys[keep]),
                "counts": counts[keep], "pruned": self.pruned, "threshold": self.threshold}


def reduce_counts(parts: list[dict], max_counted: int) -> dict:
    """Sum the counting statistics of several ranks (union of n-grams), bounded by the budget:
    when the union is larger, the most frequent ``max_counted`` are kept (ties by string)."""
    if len(parts) == 1:
        return parts[0]
    totals: dict[str, int] = {}
    for part in parts:
        for ngram, count in zip(part["ngrams"], part["counts"].tolist()):
            totals[ngram] = totals.get(ngram, 0) + count
    ngrams = sorted(totals)
    counts = np.array([totals[g] for g in ngrams], dtype=np.int64)
    pruned = sum(p["pruned"] for p in parts)
    if len(ngrams) > max_counted:
        order = np.lexsort((np.arange(len(ngrams)), -counts))[:max_counted]
        order.sort()
        pruned += len(ngrams) - max_counted
        ngrams, counts = [ngrams[i] for i in order], counts[order]
    return {"num_docs": sum(p["num_docs"] for p in parts), "ngrams": ngrams, "counts": counts,
            "pruned": pruned, "threshold": max(p["threshold"] for p in parts)}


def merge_parts(parts: list[dict], max_counted: int, min_count: int = 1, min_n: int = 1) -> dict:
    """``reduce_counts`` of ``NgramCounter.part`` statistics (one per worker process), in numpy.

    Each part's token ids are mapped to one shared id space (pyarrow dictionary-encodes the
    parts' token strings), its keys re-packed with those ids, and equal keys summed after one
    sort. The union is bounded by ``max_counted`` as in ``reduce_counts`` (most frequent kept,
    ties by string); then n-grams counted fewer than ``min_count`` times are dropped and only
    the rest get strings, returned sorted (``"sorted": True``). ``min_n == 2`` drops the
    unigrams (counted for liveness only).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    strings = pa.array([t for part in parts for t in part["tokens"]], pa.large_string())
    encoded = pc.dictionary_encode(strings)
    shared = encoded.indices.to_numpy().astype(np.int64)
    all_keys, all_counts, start = [], [], 0
    for part in parts:
        ids = np.asarray(part["token_ids"], np.int64)
        lut = np.full(int(ids.max(initial=-1)) + 1, -1, np.int64)
        lut[ids] = shared[start: start + len(ids)]
        start += len(ids)
        first, last = key_tokens(np.asarray(part["keys"], np.int64))
        unigram = first < 0
        keys = np.where(unigram, lut[last], bigram_keys(lut[np.maximum(first, 0)], lut[last]))
        all_keys.append(keys)
        all_counts.append(np.asarray(part["counts"], np.int64))
    keys, counts = unique_sums(np.concatenate(all_keys), np.concatenate(all_counts))
    if min_n == 2:
        keys, counts = keys[keys > MAX_TOKEN_ID], counts[keys > MAX_TOKEN_ID]
    tokens = encoded.dictionary
    pruned = sum(int(p["pruned"]) for p in parts)
    if len(keys) > max_counted:  # only when the parts' own budgets add up to more than this
        names = _key_strings(tokens, keys)
        order = np.lexsort((np.asarray(pc.rank(names, sort_keys="ascending",
                                               tiebreaker="first")), -counts))[:max_counted]
        order.sort()
        pruned += len(keys) - max_counted
        keys, counts = keys[order], counts[order]
    keep = counts >= min_count
    names = _key_strings(tokens, keys[keep])
    order = pc.sort_indices(names)  # UTF-8 byte order: Python's (and scikit-learn's) order
    return {"num_docs": sum(int(p["num_docs"]) for p in parts),
            "ngrams": names.take(order).to_pylist(), "counts": counts[keep][order.to_numpy()],
            "pruned": pruned, "threshold": max(int(p["threshold"]) for p in parts),
            "sorted": True}


def unique_sums(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ``keys`` and the sum of ``counts`` over each."""
    order = np.argsort(keys)
    keys, counts = keys[order], counts[order]
    starts = run_starts(keys)
    return keys[starts], np.add.reduceat(counts, starts)


def _key_strings(tokens, keys: np.ndarray):
    """The n-gram strings (a pyarrow array) of packed keys over the ids of ``tokens``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    first, last = key_tokens(keys)
    unigram = first < 0
    lasts = tokens.take(pa.array(last))
    firsts = tokens.take(pa.array(np.maximum(first, 0)))
    joined = pc.binary_join_element_wise(firsts, lasts, pa.scalar(" ", pa.large_string()))
    return pc.if_else(pa.array(unigram), lasts, joined)
