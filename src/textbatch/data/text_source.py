"""Records of a manifest's shards, one block at a time: a seek to the block's Position, a read of
its records, and the split filter.

``block_sizes`` comes from the manifest's bucket histogram, so the planner knows every block's
size exactly before reading anything. Readers are opened lazily in each process (they are not
shipped to DataLoader workers).

A read that starts where the previous one stopped (block ``i + 1`` of the same shard after block
``i``) continues the open reader instead of seeking again. That keeps in-order passes linear
(``shuffle=False``, vectorizer fitting, validation) even over gzip/bz2/xz/zstd shards, where a
seek means decompressing from the start of the file.
"""

from __future__ import annotations

from itertools import islice
from typing import Iterator
import numpy as np

from textbatch.config import ReadConfig
from textbatch.data.manifest import Manifest
from textbatch.data.split import (
    DEFAULT_VAL_FRACTION,
    Split,
    bucket,
    check_split,
    val_buckets,
)
from textbatch.errors import ConfigError, DataError
from textbatch.io import redact


class TextSource:
    """``BlockSource`` of ``Record`` objects of one split of a manifest's shards."""

    def __init__(
        self,
        manifest: Manifest,
        split: Split = "all",
        val_fraction: float = DEFAULT_VAL_FRACTION,
        read_config: ReadConfig | None = None,
    ) -> None:
        check_split(split)
        val_buckets(val_fraction)  # validates
        config = read_config or manifest.read_config
        if config.replace(on_bad_records="error") != manifest.read_config.replace(
                on_bad_records="error"):
            raise ConfigError("read_config differs from the one the manifest was built with; "
                              "its positions would not match. Build the manifest with it.")
        self.manifest, self.split, self.val_fraction = manifest, split, val_fraction
        self.read_config = config
        self._block_sizes = manifest.block_sizes(split, val_fraction)
        self._readers: dict[str, object] = {}
        self._cursor: tuple[str, int, Iterator] | None = None  # (url, next block, open read)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_readers"], state["_cursor"] = {}, None  # each worker opens its own
        return state

    @property
    def block_sizes(self) -> np.ndarray:
        return self._block_sizes

    def __len__(self) -> int:
        return int(self._block_sizes.sum())

    def _reader(self, url: str):
        reader = self._readers.get(url)
        if reader is None:
            from textbatch.readers import get_reader

            reader = self._readers[url] = get_reader(url, self.read_config)
        return reader

    def read_block(self, index: int) -> list:
        """The records of block ``index`` that belong to this split, in file order."""
        return self.read_block_and_rest(index)[0]

    def read_block_and_rest(self, index: int) -> tuple[list, list]:
        """From one read of block ``index``: its records in this split, and the rest (the other
        split's: a train split's validation records), each in file order."""
        from textbatch.readers.base import Position

        shard, local = self.manifest.locate(index)
        expected = int(shard.buckets[local].sum())
        offset, line = (int(v) for v in shard.positions[local])
        records = self._read(shard.url, local, Position(offset, line), expected)
        if len(records) != expected:
            raise DataError(redact(shard.url), line, f"expected {expected} records from here, "
                            f"read {len(records)}: the file changed after its manifest was built",
                            hint="Run again to rebuild the manifest.")
        if self.split == "all":
            return records, []
        k = val_buckets(self.val_fraction)
        want_val = self.split == "val"
        mine, rest = [], []
        for record in records:
            (mine if (bucket(record.text) < k) == want_val else rest).append(record)
        return mine, rest

    def _read(self, url: str, block: int, start, count: int) -> list:
        """``count`` records from ``start``: continuing the open read when it stopped there."""
        from textbatch.readers.base import BadRecords

        cursor, self._cursor = self._cursor, None
        if cursor is not None and cursor[:2] == (url, block):
            records = cursor[2]
        else:
            if cursor is not None:
                cursor[2].close()  # release the previous file now, not at garbage collection
            records = self._reader(url).read(url, BadRecords(self.read_config.on_bad_records),
                                             start)
        try:
            out = [record for _, record in islice(records, count)]
        except BaseException:
            records.close()
            raise
        self._cursor = (url, block + 1, records)
        return out

    def close(self) -> None:
        """Close the open read (it is also closed when the source is garbage collected)."""
        if self._cursor is not None:
            self._cursor[2].close()
            self._cursor = None
