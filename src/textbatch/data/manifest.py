"""The manifest: one streaming pass that makes every later pass a seek.

Per shard it records the number of records, a ``Position`` every ``block_size`` records (the seek
points ``TextSource`` reads blocks from), a per-block histogram of the 100 stable-hash split
buckets (so the size of any ``val_fraction`` split, per block, is known without re-reading), label
counts per bucket (a record with several labels counts once under each), how many records carry
several labels, a histogram of words per record (``len(text.split())``, the guide's measure: the
S/W rule's median without another pass) and bad records skipped by reason. That is enough for
``steps_per_epoch``, ``validation_steps``, class weights, the model choice and the epoch plan
before any training starts.

Each shard's manifest is cached as ``<key>.json`` + ``<key>.{positions,buckets}.npy`` under
``$TEXTBATCH_CACHE_DIR/manifests`` (default ``~/.cache/textbatch/manifests``). The key hashes the
URL, size, mtime, the sha256 of the first 64 KiB, the reader options, the declared classes and
the block size, so a changed file gets a new key and is scanned again. Files are written
atomically and the JSON last: a half-written entry is never read as valid.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from textbatch.config import ReadConfig
from textbatch.data.labels import LabelSet
from textbatch.data.split import (
    DEFAULT_VAL_FRACTION,
    NUM_BUCKETS,
    Split,
    bucket,
    split_counts,
)
from textbatch.errors import ConfigError, DataError
from textbatch.io import atomic_write, redact
from textbatch.text.analyzer import count_words

VERSION = 3  # 2: multi-label records counted under each label, plus ``multi_label``; 3: words
# The key scheme stays at 2 while only the content grows: a run's checkpoint fingerprint holds
# its shards' keys, so a new content version must not make an upgraded textbatch refuse to
# resume it. An entry of another content version under the same key is rescanned (load_cached).
KEY_VERSION = 2
VAL = DEFAULT_VAL_FRACTION
HEAD_BYTES = 64 * 1024
Progress = Callable[[int], object]  # called with the number of records just scanned


def default_cache_dir() -> Path:
    root = os.environ.get("TEXTBATCH_CACHE_DIR") or Path.home() / ".cache" / "textbatch"
    return Path(root) / "manifests"


@dataclass
class ShardManifest:
    """One shard's counts and seek points. ``positions[i]`` = (offset, line) of block ``i``'s
    first record; ``buckets[i, b]`` = records of block ``i`` in split bucket ``b``."""

    url: str
    key: str
    num_records: int
    positions: np.ndarray  # int64 [num_blocks, 2]
    buckets: np.ndarray  # uint32 [num_blocks, 100]
    label_buckets: dict[str | None, np.ndarray]  # label (None: unlabelled) -> int64 [100]
    first_lines: dict[str | None, int]  # label -> 1-based line where it first appears
    skipped: dict[str, int] = field(default_factory=dict)
    classes: list[str] | None = None  # declared by the reader (classes.txt), in id order
    # records with 2+ labels, the most labels on one record, and the line of the first such one
    multi_label: dict[str, int] = field(
        default_factory=lambda: {"records": 0, "max_labels": 0, "first_line": 0})
    words: dict[int, int] = field(default_factory=dict)  # words per record -> records

    @property
    def num_blocks(self) -> int:
        return len(self.positions)

    def to_json(self) -> dict:
        return {
            "version": VERSION, "url": redact(self.url), "key": self.key,
            "num_records": self.num_records, "skipped": self.skipped, "classes": self.classes,
            "multi_label": self.multi_label, "words": sorted(self.words.items()),
            "labels": [{"label": k, "first_line": self.first_lines[k], "buckets": v.tolist()}
                       for k, v in self.label_buckets.items()],
        }

    @classmethod
    def from_json(cls, url: str, data: dict, positions: np.ndarray,
                  buckets: np.ndarray) -> "ShardManifest":
        labels = {e["label"]: np.asarray(e["buckets"], np.int64) for e in data["labels"]}
        lines = {e["label"]: int(e["first_line"]) for e in data["labels"]}
        return cls(url, data["key"], int(data["num_records"]), positions, buckets, labels, lines,
                   dict(data["skipped"]), data["classes"], dict(data["multi_label"]),
                   {int(w): int(n) for w, n in data["words"]})


# -- cache key -------------------------------------------------------------------------------
def _file_state(url: str) -> dict:
    """Size, mtime and a content hash of ``url`` through fsspec (so ``s3://`` works too).

    For a directory shard (one folder per class) the hash covers every file's name, size and
    mtime, since editing one review must invalidate the manifest.
    """
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        raise DataError(redact(url), None, "no such file", hint="Check the path or URL.") from None
    state = {"size": info.get("size"), "mtime": str(_mtime(info))}
    digest = hashlib.sha256()
    if info.get("type") == "directory":
        for name, entry in sorted(fs.find(path, detail=True).items()):
            digest.update(f"{name}\0{entry.get('size')}\0{_mtime(entry)}\n".encode())
    else:
        with fs.open(path, "rb") as handle:
            digest.update(handle.read(HEAD_BYTES))
    state["content"] = digest.hexdigest()
    return state


def _mtime(info: dict) -> object:
    for name in ("mtime", "LastModified", "last_modified", "updated", "modified", "created"):
        if info.get(name) is not None:
            return info[name]
    return info.get("ETag") or info.get("etag")


def shard_key(url: str, read_config: ReadConfig, block_size: int,
              classes: list[str] | None) -> str:
    """The cache key of a shard's manifest: changes whenever the scan could give another result."""
    parts = {"version": KEY_VERSION, "url": redact(url), "file": _file_state(url),
             "read": read_config.to_dict(), "block_size": block_size, "classes": classes}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


# -- scan ------------------------------------------------------------------------------------
def scan_shard(url: str, reader, read_config: ReadConfig, block_size: int, key: str = "",
               progress: Progress | None = None) -> ShardManifest:
    """Read ``url`` once, counting; memory is per block and per label, never per record."""
    from textbatch.readers.base import BadRecords

    bad = BadRecords(read_config.on_bad_records)
    positions: list[tuple[int, int]] = []
    rows: list[list[int]] = []
    labels: dict[str | None, list[int]] = {}
    first_lines: dict[str | None, int] = {}
    multi = {"records": 0, "max_labels": 0, "first_line": 0}
    words: dict[int, int] = {}
    row: list[int] = []
    count = 0
    for position, record in reader.read(url, bad, None):
        if count % block_size == 0:
            if row and progress is not None:
                progress(block_size)
            positions.append((position.offset, position.line))
            row = [0] * NUM_BUCKETS
            rows.append(row)
        b = bucket(record.text)
        row[b] += 1
        size = count_words(record.text)
        words[size] = words.get(size, 0) + 1
        for name in record.labels or (record.label,):
            per_label = labels.get(name)
            if per_label is None:
                per_label = labels[name] = [0] * NUM_BUCKETS
                first_lines[name] = record.line
            per_label[b] += 1
        if record.labels is not None:
            _count_multi(multi, record)
        count += 1
    if progress is not None and count:
        progress(count - (len(rows) - 1) * block_size)
    return ShardManifest(
        url, key, count, np.asarray(positions, np.int64).reshape(-1, 2),
        np.asarray(rows, np.uint32).reshape(-1, NUM_BUCKETS),
        {k: np.asarray(v, np.int64) for k, v in labels.items()}, first_lines,
        dict(sorted(bad.counts.items())), reader.classes(url), multi, words)


def _count_multi(multi: dict[str, int], record) -> None:
    multi["records"] += 1
    multi["max_labels"] = max(multi["max_labels"], len(record.labels))
    multi["first_line"] = multi["first_line"] or record.line


# -- cache -----------------------------------------------------------------------------------
def _paths(cache_dir: Path, key: str) -> tuple[Path, Path, Path]:
    return (cache_dir / f"{key}.json", cache_dir / f"{key}.positions.npy",
            cache_dir / f"{key}.buckets.npy")


def load_cached(cache_dir: Path, url: str, key: str) -> ShardManifest | None:
    """The cached manifest of ``key``, or None when absent or incomplete (then it is rebuilt)."""
    meta, pos_path, buckets_path = _paths(cache_dir, key)
    try:
        data = json.loads(meta.read_text())
        positions, buckets = np.load(pos_path), np.load(buckets_path)
    except (OSError, ValueError):
        return None
    if data.get("version") != VERSION or data.get("key") != key or len(positions) != len(buckets):
        return None
    return ShardManifest.from_json(url, data, positions, buckets)


def save_cached(cache_dir: Path, shard: ShardManifest) -> None:
    """Arrays first, JSON last, each atomically: the JSON's presence means the entry is whole."""
    meta, pos_path, buckets_path = _paths(cache_dir, shard.key)
    for path, array in ((pos_path, shard.positions), (buckets_path, shard.buckets)):
        with atomic_write(path) as handle:
            np.save(handle, array)
    with atomic_write(meta, "w", encoding="utf-8") as handle:
        json.dump(shard.to_json(), handle)


# -- the manifest of a data set ----------------------------------------------------------------
class Manifest:
    """Counts and seek points of a list of shards (see the module docstring)."""

    def __init__(self, shards: Sequence[ShardManifest], read_config: ReadConfig,
                 block_size: int) -> None:
        self.shards = list(shards)
        self.read_config = read_config
        self.block_size = block_size
        self._block_starts = np.cumsum([0] + [s.num_blocks for s in self.shards])

    @classmethod
    def build(cls, shards: Sequence[str], read_config: ReadConfig, block_size: int,
              cache_dir: str | os.PathLike | None = None,
              progress: Progress | None = None) -> "Manifest":
        """Scan each shard once (or load its cached manifest when the file is unchanged).

        Raises:
            DataError: a bad record under ``on_bad_records="error"``, or a missing file.
        """
        from textbatch.readers import get_reader

        if block_size < 1:
            raise ConfigError(f"block_size must be >= 1. Got {block_size}.")
        if not shards:
            raise ConfigError("No input files. Pass at least one file, glob, directory or URL.")
        directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        built = []
        for url in shards:
            reader = get_reader(url, read_config)
            key = shard_key(url, read_config, block_size, reader.classes(url))
            shard = load_cached(directory, url, key)
            if shard is None:
                shard = scan_shard(url, reader, read_config, block_size, key, progress)
                save_cached(directory, shard)
            elif progress is not None:
                progress(shard.num_records)
            built.append(shard)
        manifest = cls(built, read_config, block_size)
        _ = manifest.classes  # fail early on labels that contradict declared classes
        return manifest

    # -- counts --------------------------------------------------------------------------------
    def num_records(self, split: Split = "all", val_fraction: float = VAL) -> int:
        return int(self.block_sizes(split, val_fraction).sum())

    def block_sizes(self, split: Split = "all", val_fraction: float = VAL) -> np.ndarray:
        """Records of ``split`` in every block, all shards back to back (int64 [num_blocks])."""
        if not self.shards:
            return np.zeros(0, np.int64)
        return np.concatenate([split_counts(s.buckets, split, val_fraction) for s in self.shards])

    def label_counts(self, split: Split = "all", val_fraction: float = VAL) -> dict[str, int]:
        """Records per class name of ``split`` (unlabelled records are not counted; a record
        with several labels counts under each)."""
        totals: dict[str, int] = {}
        for shard in self.shards:
            for label, hist in shard.label_buckets.items():
                if label is not None:
                    totals[label] = totals.get(label, 0) + int(split_counts(hist, split,
                                                                            val_fraction))
        return {name: totals.get(name, 0) for name in self.classes.names}

    @property
    def num_unlabelled(self) -> int:
        return sum(int(s.label_buckets[None].sum()) for s in self.shards if None in s.label_buckets)

    @property
    def multi_label(self) -> dict[str, int | str | None]:
        """Records with several labels over all shards, the most on one record, and where the
        first one is (``path`` / ``line``, None when there is none): what ``--task`` auto-detects
        multi-label data by, and what a single-label run's error points at."""
        first = next((s for s in self.shards if s.multi_label["records"]), None)
        return {"records": sum(s.multi_label["records"] for s in self.shards),
                "max_labels": max([s.multi_label["max_labels"] for s in self.shards] + [0]),
                "path": redact(first.url) if first else None,
                "line": first.multi_label["first_line"] if first else None}

    @property
    def words_per_record(self) -> Counter:
        """How many records have each number of words, over all shards (every split)."""
        total: Counter = Counter()
        for shard in self.shards:
            total.update(shard.words)
        return total

    @property
    def skipped(self) -> dict[str, int]:
        """Bad records skipped, by reason, over all shards."""
        totals: dict[str, int] = {}
        for shard in self.shards:
            for kind, n in shard.skipped.items():
                totals[kind] = totals.get(kind, 0) + n
        return dict(sorted(totals.items()))

    @property
    def classes(self) -> LabelSet:
        """Declared classes (a reader's ``classes()``) or the natural order of seen labels."""
        declared = next((s for s in self.shards if s.classes is not None), None)
        if declared is None:
            return LabelSet.from_labels(l for s in self.shards for l in s.label_buckets
                                        if l is not None)
        labels = LabelSet(declared.classes)
        for shard in self.shards:
            if shard.classes is not None and shard.classes != declared.classes:
                raise DataError(redact(shard.url), None, f"declares classes {shard.classes}, but "
                                f"{redact(declared.url)} declares {declared.classes}",
                                hint="Give every shard the same classes.txt.")
            for label, line in shard.first_lines.items():
                if label is not None and label not in labels:
                    labels.id(label, redact(shard.url), line)  # raises, naming file and line
        return labels

    # -- blocks --------------------------------------------------------------------------------
    @property
    def num_blocks(self) -> int:
        return int(self._block_starts[-1])

    def locate(self, block: int) -> tuple[ShardManifest, int]:
        """The shard holding global ``block`` and the block's index within it."""
        if not 0 <= block < self.num_blocks:
            raise IndexError(f"block {block} is not in [0, {self.num_blocks}).")
        index = int(np.searchsorted(self._block_starts, block, side="right") - 1)
        return self.shards[index], block - int(self._block_starts[index])

    def summary(self) -> dict:
        """Plain JSON facts for reports: records, classes and skips."""
        return {"num_records": self.num_records(), "num_shards": len(self.shards),
                "samples_per_class": self.label_counts(), "skipped_records": self.skipped}
