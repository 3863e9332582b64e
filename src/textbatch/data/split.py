"""Train/validation carved from one file by a stable hash of each record's text.

A record's bucket is ``blake2b(text UTF-8, 8 bytes) mod 100``, a fixed function of its bytes (never
Python's salted ``hash()``), so every process, run and rank agrees on the split and the manifest
can count each split ahead of time from a per-block histogram of buckets. Identical texts land in
the same split, so duplicates never leak from training into validation.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import numpy as np

from textbatch.errors import ConfigError

NUM_BUCKETS = 100
DEFAULT_VAL_FRACTION = 0.1  # StreamConfig's default (--val-fraction)
Split = Literal["all", "train", "val"]
SPLITS = ("all", "train", "val")


def bucket(text: str) -> int:
    """The record's split bucket in [0, 100)."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % NUM_BUCKETS


def val_buckets(val_fraction: float) -> int:
    """Buckets [0, k) form the validation split; k = round(val_fraction * 100)."""
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1). Got {val_fraction}.")
    return int(round(val_fraction * NUM_BUCKETS))


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ConfigError(f"Unknown split {split!r}. Known: {list(SPLITS)}.")


def in_split(bucket_index: int, split: Split, val_fraction: float) -> bool:
    """Whether a record of ``bucket_index`` belongs to ``split``."""
    if split == "all":
        return True
    is_val = bucket_index < val_buckets(val_fraction)
    return is_val if split == "val" else not is_val


def split_counts(histogram: np.ndarray, split: Split, val_fraction: float) -> np.ndarray:
    """Per-row record counts of ``split`` from a [..., 100] bucket histogram."""
    check_split(split)
    hist = np.asarray(histogram, dtype=np.int64)
    if split == "all":
        return hist.sum(axis=-1)
    val = hist[..., : val_buckets(val_fraction)].sum(axis=-1)
    return val if split == "val" else hist.sum(axis=-1) - val
