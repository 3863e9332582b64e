"""Stable hashing of strings: a fixed function of their UTF-8 bytes.

Python's ``hash()`` is salted per process (PYTHONHASHSEED), so a model trained with hashed
features would silently stop matching its inputs in the next process. fastText hit the same
problem across compilers and fixed its hash; we use 64-bit FNV-1a over UTF-8 bytes (fastText uses
the 32-bit variant with a sign-extension quirk; 64 bits keep collisions negligible at 2M buckets).
The batch function runs the FNV loop column-wise in numpy over all strings at once.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1
# Combines token hashes into an n-gram hash, fastText's multiplier (addWordNgrams).
NGRAM_MULTIPLIER = 116_049_371


def fnv1a_64(text: str) -> int:
    """FNV-1a 64 of the UTF-8 bytes of one string (reference implementation)."""
    value = FNV_OFFSET
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * FNV_PRIME) & _MASK
    return value


def fnv1a_64_many(texts: Sequence[str]) -> np.ndarray:
    """FNV-1a 64 of many strings as uint64, equal to ``fnv1a_64`` element by element."""
    encoded = [t.encode("utf-8") for t in texts]
    lengths = np.fromiter((len(b) for b in encoded), np.int64, len(encoded))
    values = np.full(len(encoded), FNV_OFFSET, dtype=np.uint64)
    if not len(encoded) or lengths.max() == 0:
        return values
    width = int(lengths.max())
    padded = np.frombuffer(b"".join(b.ljust(width, b"\0") for b in encoded), np.uint8)
    padded = padded.reshape(len(encoded), width).astype(np.uint64)
    prime = np.uint64(FNV_PRIME)
    with np.errstate(over="ignore"):
        for column in range(width):
            active = lengths > column
            updated = (values ^ padded[:, column]) * prime  # uint64 arithmetic wraps mod 2**64
            values = np.where(active, updated, values)
    return values


def combine_ngram_hashes(token_hashes: np.ndarray, offsets: np.ndarray, n: int) -> tuple[
        np.ndarray, np.ndarray]:
    """Hashes of every n-gram (n >= 2) inside each CSR row, and the row of each.

    ``h = h * NGRAM_MULTIPLIER + next`` over the n tokens, in uint64 (wrapping).
    """
    starts = np.arange(len(token_hashes) - n + 1) if len(token_hashes) >= n else np.zeros(0, int)
    rows = np.searchsorted(offsets, starts, side="right") - 1
    valid = starts + n <= offsets[rows + 1] if len(starts) else np.zeros(0, bool)
    starts, rows = starts[valid], rows[valid]
    values = token_hashes[starts].astype(np.uint64)
    multiplier = np.uint64(NGRAM_MULTIPLIER)
    with np.errstate(over="ignore"):
        for k in range(1, n):
            values = values * multiplier + token_hashes[starts + k].astype(np.uint64)
    return values, rows
