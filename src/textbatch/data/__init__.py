"""The data layer owns POSITION: where every record is, and which batch it lands in.

Owns: the manifest (records, labels, seek points and split buckets per block of each shard), the
stable-hash train/validation split, label ids, the epoch plan (block permutation + bounded window
shuffle from (seed, epoch)), rank/worker sharding, epochs and the stream position that
checkpoints save. Leaves to others: parsing (``textbatch.readers``), opening bytes
(``textbatch.io``) and turning records into numbers (``textbatch.features``, as the stream's
``transform``).

Names are imported lazily so that ``import textbatch.data`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BlockSource": "source",
    "LabelSet": "labels",
    "Manifest": "manifest",
    "ShardManifest": "manifest",
    "TextSource": "text_source",
    "EpochPlan": "plan",
    "make_plan": "plan",
    "steps_per_epoch": "plan",
    "BatchStream": "stream",
    "BatchLoader": "stream",
    "FirstRecords": "views",
    "RankBlocks": "views",
    "bucket": "split",
    "val_buckets": "split",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'textbatch.data' has no attribute {name!r}")
    return getattr(importlib.import_module(f"textbatch.data.{module}"), name)
