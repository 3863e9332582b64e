"""The most frequent n-grams of a stream in constant memory: a count-min sketch of document
frequencies over stable n-gram hashes, with strings kept only for the heavy hitters.

Explore's top-n-grams table used to hold every counted n-gram as a Python string (up to the
vectorizer's 4M budget: 695 MiB peak RSS at 1.6M rows). The table needs only the top 20, so:

* every n-gram is hashed (FNV-1a of its tokens, combined like ``textbatch.features.hashed``),
  counted once per document, and added to a ``DEPTH x WIDTH`` uint32 sketch (16 MiB, fixed);
* at most ``capacity`` candidates (the largest estimates so far) keep their string, recovered
  from the tokens of the chunk where they were admitted.

The estimate of a count is the minimum over the sketch's rows: never below the true count, and
above it by at most ``e * N / WIDTH`` (N: all document-n-gram pairs counted) with probability
``1 - e**-DEPTH`` (Cormode and Muthukrishnan, 2005). ``bound()`` reports both figures; on small
data (distinct n-grams far below WIDTH) the counts are exact in practice.
"""

from __future__ import annotations

import math

import numpy as np

from textbatch.text.analyzer import Analyzer
from textbatch.text.hashing import NGRAM_MULTIPLIER, fnv1a_64_many

WIDTH_BITS = 20
WIDTH = 1 << WIDTH_BITS
DEPTH = 4
# Odd 64-bit multipliers, one per sketch row (multiply-shift hashing of the n-gram hash).
_ROW_MULTIPLIERS = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                             0xD6E8FEB86659FD93], dtype=np.uint64)[:DEPTH]
_N_SALT = np.uint64(0x27D4EB2F165667C5)  # keeps a unigram and a bigram hash apart


class _TokenLog:
    """The ``lookup`` for ``Analyzer.encode``: hashes tokens and remembers them for one chunk,
    so a new heavy hitter's string can be rebuilt from its token hashes."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.hashes: list[np.ndarray] = []

    def __call__(self, tokens: list[str]) -> np.ndarray:
        hashes = fnv1a_64_many(tokens)
        self.tokens += tokens
        self.hashes.append(hashes)
        return hashes.view(np.int64)

    def strings(self, wanted: np.ndarray | list) -> dict[int, str]:
        every = np.concatenate(self.hashes) if self.hashes else np.zeros(0, np.uint64)
        found = np.flatnonzero(np.isin(every, wanted))
        return {int(every[i]): self.tokens[i] for i in found}


class TopNgrams:
    """``update(texts)`` per chunk, then ``most_common(n)``: see the module docstring."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 2), capacity: int = 4_096) -> None:
        self.analyzer = Analyzer(ngram_range)
        self.capacity = capacity
        self.sketch = np.zeros((DEPTH, WIDTH), np.uint32)
        self.total = 0
        self.keys = np.zeros(0, np.uint64)  # candidates, with their strings in ``names``
        self.counts = np.zeros(0, np.int64)  # and their counts, exact since admission
        self.names: dict[int, str] = {}

    def update(self, texts: list[str]) -> None:
        log = _TokenLog()
        tokens, offsets = self.analyzer.encode(texts, log)
        tokens = tokens.view(np.uint64)
        unique, counts, n_of, start = self._document_counts(tokens, offsets)
        before = self._estimate(unique)  # what earlier chunks hold (0 in the first chunk)
        for row in range(DEPTH):
            np.add.at(self.sketch[row], self._cells(unique, row), counts.astype(np.uint32))
        self.total += int(counts.sum())
        self._admit(unique, counts, before, (n_of, start, tokens), log)

    def most_common(self, n: int) -> list[tuple[str, int]]:
        """The ``n`` n-grams in most documents, ties broken by string."""
        pairs = [(self.names[int(k)], int(c)) for k, c in zip(self.keys, self.counts)]
        return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))[:n]

    def bound(self) -> dict[str, float]:
        """Memory held and the error bound of the counts, for the explore report."""
        return {"memory_bytes": int(self.sketch.nbytes + self.capacity * 8 * 2),
                "max_overcount": math.ceil(math.e * self.total / WIDTH),
                "confidence": round(1 - math.exp(-DEPTH), 4)}

    def _document_counts(self, tokens: np.ndarray, offsets: np.ndarray) -> tuple[
            np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Distinct n-gram keys of the chunk, how many documents hold each, and (n, first
        start token) to rebuild each one's string."""
        keys, ns, starts, rows = [], [], [], []
        lo, hi = self.analyzer.ngram_range
        for n in range(lo, hi + 1):
            start = np.arange(max(len(tokens) - n + 1, 0))
            row = np.searchsorted(offsets, start, side="right") - 1
            keep = start + n <= offsets[row + 1]
            start, row = start[keep], row[keep]
            value = tokens[start].copy()
            with np.errstate(over="ignore"):
                for k in range(1, n):
                    value = value * np.uint64(NGRAM_MULTIPLIER) + tokens[start + k]
                keys.append(value ^ (np.uint64(n) * _N_SALT))
            ns.append(np.full(len(start), n, np.int64))
            starts.append(start)
            rows.append(row)
        key, n_of, start, row = (np.concatenate(a) for a in (keys, ns, starts, rows))
        # Stable: within one key (one n, so one row-ordered part) rows stay ascending, so the
        # repeats of an n-gram inside a document are neighbours.
        order = np.argsort(key, kind="stable")
        key, row = key[order], row[order]
        new_key = np.ones(len(key), bool)
        new_key[1:] = key[1:] != key[:-1]
        new_doc = new_key.copy()
        new_doc[1:] |= row[1:] != row[:-1]
        first = np.flatnonzero(new_key)
        counts = np.add.reduceat(new_doc.astype(np.int64), first) if len(first) else first
        return key[first], counts, n_of[order][first], start[order][first]

    def _cells(self, keys: np.ndarray, row: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((keys * _ROW_MULTIPLIERS[row]) >> np.uint64(64 - WIDTH_BITS)).astype(np.int64)

    def _estimate(self, keys: np.ndarray) -> np.ndarray:
        if not len(keys):
            return np.zeros(0, np.int64)
        return np.min([self.sketch[row][self._cells(keys, row)] for row in range(DEPTH)], axis=0)

    def _admit(self, unique: np.ndarray, counts: np.ndarray, before: np.ndarray,
               where: tuple[np.ndarray, np.ndarray, np.ndarray], log: _TokenLog) -> None:
        """Add this chunk's exact counts to the candidates it holds; offer the rest with their
        estimate so far (the sketch's, before this chunk, plus this chunk's exact count); keep
        the ``capacity`` largest. Only newcomers need their strings rebuilt."""
        held = np.isin(unique, self.keys)
        order = np.argsort(self.keys)
        at = order[np.searchsorted(self.keys, unique[held], sorter=order)]
        self.counts = self.counts.copy()
        self.counts[at] += counts[held]
        pool = np.concatenate([self.keys, unique[~held]])
        values = np.concatenate([self.counts, before[~held] + counts[~held]])
        keep = np.argsort(-values, kind="stable")[: self.capacity]
        new = keep[keep >= len(self.keys)] - len(self.keys)
        self._name(unique[~held][new], where[0][~held][new], where[1][~held][new], where[2], log)
        self.keys, self.counts = pool[keep], values[keep]
        kept = set(self.keys.tolist())
        self.names = {k: v for k, v in self.names.items() if k in kept}

    def _name(self, keys: np.ndarray, n_of: np.ndarray, start: np.ndarray, tokens: np.ndarray,
              log: _TokenLog) -> None:
        needed = [tokens[start[n_of > k] + k] for k in range(int(n_of.max(initial=0)))]
        words = log.strings(np.unique(np.concatenate(needed)) if needed else needed)
        for key, n, s in zip(keys, n_of, start):
            self.names[int(key)] = " ".join(words[int(t)] for t in tokens[s:s + n])
