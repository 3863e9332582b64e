"""The vectorize-once cache: the vectorized training set as flat, memory-mappable files.

Like nanoGPT's ``train.bin``: ``ids.bin`` (int32), ``weights.bin`` (float32), ``offsets.bin``
(int64, CSR indptr, num_records + 1) and ``labels.bin`` (int64 ids; for multi-label data uint8
0/1 rows of ``label_width`` labels, row after row), appended chunk by chunk so
writing takes constant memory, plus ``manifest.json``. The directory is built under a temporary
name and renamed into place, so a cache is either complete or absent. The manifest's ``key``
(data identity + vectorizer config, given by the caller) decides whether a cache may be used:
``open_cache`` returns None for a missing or stale one and the caller rebuilds it.

``CacheSource`` is a ``BlockSource`` over row ids, so ``textbatch.data.BatchStream`` plans epochs
over the cache exactly as over text (same shuffle, position and resume), and ``gather`` turns a
batch of row ids into a SparseBatch with numpy fancy indexing over the memory maps.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from textbatch.errors import CheckpointError
from textbatch.io.atomic import write_error
from textbatch.features.batch import SparseBatch

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# int32 ids: every vectorizer's features fit (top_k 20,000; buckets 2M < 2**31).
DTYPES = {"ids": "int32", "weights": "float32", "offsets": "int64", "labels": "int64"}


def write_cache(out_dir: str | Path, chunks: Iterable[SparseBatch], key: dict[str, Any],
                block_size: int = 1024) -> Path:
    """Write labelled batches as a cache at ``out_dir`` (replacing an old one) and return it."""
    return _build(out_dir, lambda writer: [writer.append(batch) for batch in chunks], key,
                  block_size)


def join_caches(out_dir: str | Path, parts: Iterable[str | Path], key: dict[str, Any],
                block_size: int = 1024) -> Path:
    """Write the rows of the caches ``parts``, one after another, as a cache at ``out_dir``:
    file copies, no batch is rebuilt (worker processes each wrote one part)."""
    return _build(out_dir, lambda writer: [writer.append_cache(part) for part in parts], key,
                  block_size)


def _build(out_dir: str | Path, fill: Callable[[CacheWriter], object], key: dict[str, Any],
           block_size: int) -> Path:
    """A cache filled by ``fill`` in a temporary folder, then renamed to ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        with CacheWriter(temp) as writer:
            fill(writer)
            writer.finish(key, block_size)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(temp, out_dir)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return out_dir


class CacheWriter:
    """Appends labelled batches to the flat files of ``directory`` (constant memory); also the
    n-gram vectorizer's spill of full-vocabulary rows between its stats pass and the cache.

    ``durable``: ``finish`` fsyncs the files before the manifest names them (a cache outlives
    its run and is reused on resume); spills, removed with their run, pass False.
    """

    def __init__(self, directory: str | Path, durable: bool = True) -> None:
        self.directory = Path(directory)
        self.durable = durable
        self.directory.mkdir(parents=True, exist_ok=True)
        self._files = {name: open(self.directory / f"{name}.bin", "wb") for name in DTYPES}
        self._files["offsets"].write(np.zeros(1, np.int64).tobytes())
        self.num_records, self.nnz = 0, 0
        self.label_width: int | None = None  # multi-label: labels per row, from the first batch

    def __enter__(self) -> "CacheWriter":
        return self

    def __exit__(self, exc_type: type | None, *exc_info: object) -> None:
        self.close(quiet=exc_type is not None)

    def append(self, batch: SparseBatch) -> None:
        if batch.labels is None:
            raise ValueError("write_cache needs labelled batches (labels is None)")
        offsets = np.asarray(batch.offsets[1:], np.int64) - batch.offsets[0] + self.nnz
        self._write("ids", np.asarray(batch.ids, np.int32))
        self._write("weights", np.asarray(batch.weights, np.float32))
        self._write("offsets", offsets)
        self._write("labels", self._labels(np.asarray(batch.labels)))
        self.num_records += len(batch)
        self.nnz += int(batch.offsets[-1] - batch.offsets[0])

    def append_cache(self, directory: str | Path) -> None:
        """Append every row of the cache (or finished spill) at ``directory``, copying its
        files: offsets shifted by the rows already written, the rest byte for byte."""
        part = CacheSource(directory)
        if not len(part):  # a part whose records were all skipped has no label width
            return
        width = part.manifest.get("label_width")
        if self.num_records and width != self.label_width:
            raise ValueError(f"{directory}: labels of width {width} after {self.label_width}: "
                             "one cache holds one kind of labels")
        self.label_width = width
        for name in ("ids", "weights", "labels"):
            with open(part.directory / f"{name}.bin", "rb") as source:
                try:
                    shutil.copyfileobj(source, self._files[name], 16 << 20)
                except OSError as exc:
                    raise write_error(exc, self.directory / f"{name}.bin",
                                      os.fstat(source.fileno()).st_size) from exc
        self._write("offsets", np.asarray(part.offsets[1:], np.int64) + self.nnz)
        self.num_records += len(part)
        self.nnz += int(part.manifest["nnz"])

    def _labels(self, labels: np.ndarray) -> np.ndarray:
        """Ids as int64; indicator rows [n, C] as uint8, every batch with the same C."""
        width = labels.shape[1] if labels.ndim == 2 else None
        if self.num_records and width != self.label_width:
            raise ValueError(f"labels of width {width} after {self.label_width}: one cache holds "
                             "one kind of labels")
        self.label_width = width
        return labels.astype(np.int64 if width is None else np.uint8)

    def _write(self, name: str, array: np.ndarray) -> None:
        try:
            self._files[name].write(array.tobytes())
        except OSError as exc:  # a full disk: one line naming the file (the caller cleans up)
            raise write_error(exc, self.directory / f"{name}.bin", array.nbytes) from exc

    def finish(self, key: dict[str, Any], block_size: int = 1024) -> None:
        """Flush the arrays to disk, then write the manifest that makes them a cache."""
        manifest = {"format_version": FORMAT_VERSION, "num_records": self.num_records,
                    "nnz": self.nnz, "block_size": int(block_size), "dtypes": DTYPES, "key": key}
        if self.label_width is not None:  # single-label manifests stay as they were
            manifest["dtypes"] = DTYPES | {"labels": "uint8"}
            manifest["label_width"] = self.label_width
        try:
            for handle in self._files.values():
                handle.flush()
                if self.durable:
                    os.fsync(handle.fileno())
            self.close()
            (self.directory / MANIFEST).write_text(json.dumps(manifest, indent=1,
                                                              sort_keys=True), "utf-8")
        except OSError as exc:
            raise write_error(exc, self.directory) from exc

    def close(self, quiet: bool = False) -> None:
        """Close every file (closing flushes, so on a full disk it may fail); ``quiet`` while
        another error is already on its way out."""
        errors = []
        for handle in self._files.values():
            try:
                handle.close()
            except OSError as exc:
                errors.append(exc)
        if errors and not quiet:
            raise write_error(errors[0], self.directory) from errors[0]


# Bytes gathered after which mapped pages are dropped, so a pass over the cache does not leave
# it all mapped (fit's pass 2 over 3.6M rows: peak RSS 1,356 -> 350 MiB). Each scattered read
# maps whole page-cache folios around it (fault-around), so 64 MiB gathered left ~110 MiB mapped
# per cache; 4 MiB leaves ~35 MiB for ~25 us more per 128-row gather (1M-row cache, this machine),
# and a run's peak no longer grows with its cache (issue 11). Mapped pages are RssFile: shared
# and reclaimable, but they count in peak RSS.
RELEASE_EVERY_BYTES = 4 << 20


class CacheSource:
    """Random access to a written cache: blocks of row ids and batches gathered by row id."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.manifest = read_manifest(self.directory)
        self._open_maps()
        n = self.manifest["num_records"]
        self.block_size = int(self.manifest["block_size"])
        sizes = np.full(-(-n // self.block_size), self.block_size, dtype=np.int64)
        if n % self.block_size:
            sizes[-1] = n % self.block_size
        self._block_sizes = sizes

    def _open_maps(self) -> None:
        n, nnz = self.manifest["num_records"], self.manifest["nnz"]
        self._mmaps: dict[str, mmap.mmap] = {}
        self._bytes_since_release = 0
        self.ids = self._map("ids", nnz)
        self.weights = self._map("weights", nnz)
        self.offsets = self._map("offsets", n + 1)
        width = self.manifest.get("label_width")
        self.labels = (self._map("labels", n) if width is None else
                       self._map("labels", n * width, "uint8").reshape(n, width))

    def __getstate__(self) -> dict:
        """DataLoader workers get the path, not a copy of the data: they map the files again."""
        state = self.__dict__.copy()
        for name in (*DTYPES, "_mmaps"):
            del state[name]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._open_maps()

    def _map(self, name: str, count: int, dtype_name: str | None = None) -> np.ndarray:
        path = self.directory / f"{name}.bin"
        dtype = np.dtype(dtype_name or DTYPES[name])
        size = path.stat().st_size if path.is_file() else -1
        if size != count * dtype.itemsize:
            raise CheckpointError(f"{path}: {size} bytes, expected {count * dtype.itemsize} from "
                                  f"{self.directory / MANIFEST}. The cache is damaged; delete it "
                                  "and run `textbatch vectorize` again.")
        if count == 0:
            return np.zeros(0, dtype)
        with open(path, "rb") as handle:  # a plain read-only ndarray over the mapping: fancy
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)  # indexing skips
        self._mmaps[name] = mapped
        return np.frombuffer(mapped, dtype=dtype, count=count)  # np.memmap's subclass overhead

    def release(self) -> None:
        """Drop the mapped pages from this process (they stay in the OS page cache, so reading
        them again is cheap). Mapped pages count as resident memory: without this, a process
        that streamed the whole cache would show a peak RSS as large as the cache."""
        for mapped in self._mmaps.values():
            mapped.madvise(mmap.MADV_DONTNEED)
        self._bytes_since_release = 0

    def __len__(self) -> int:
        return int(self.manifest["num_records"])

    @property
    def key(self) -> dict[str, Any]:
        return self.manifest["key"]

    @property
    def block_sizes(self) -> np.ndarray:
        return self._block_sizes

    def read_block(self, index: int) -> np.ndarray:
        """Row ids of block ``index`` (int64)."""
        start = index * self.block_size
        return np.arange(start, start + int(self._block_sizes[index]), dtype=np.int64)

    def item_lengths(self, row_ids: np.ndarray) -> np.ndarray:
        """Stored length (ids) of each row: what length bucketing sorts by."""
        rows = np.asarray(row_ids, dtype=np.int64)
        return self.offsets[rows + 1] - self.offsets[rows]

    def iter_chunks(self, size: int) -> Iterator[SparseBatch]:
        """All rows in order, ``size`` at a time (sequential reads)."""
        for start in range(0, len(self), size):
            yield self.gather(np.arange(start, min(start + size, len(self)), dtype=np.int64))

    def gather(self, row_ids: np.ndarray | list[int]) -> SparseBatch:
        """The rows ``row_ids`` (any order, repeats allowed) as one labelled SparseBatch."""
        rows = np.asarray(row_ids, dtype=np.int64)
        starts = self.offsets[rows]
        lengths = self.offsets[rows + 1] - starts
        out_offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=out_offsets[1:])
        positions = np.arange(out_offsets[-1], dtype=np.int64)
        positions += np.repeat(starts - out_offsets[:-1], lengths)
        self._bytes_since_release += len(positions) * 8
        if self._bytes_since_release > RELEASE_EVERY_BYTES:
            self.release()
        return SparseBatch(self.ids[positions].astype(np.int64), np.asarray(self.weights[positions]),
                           out_offsets, np.asarray(self.labels[rows]))


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """The parsed manifest of a cache, checked for version."""
    path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text("utf-8"))
        version = manifest["format_version"]
        int(manifest["num_records"]), int(manifest["nnz"]), int(manifest["block_size"])
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: no cache here (manifest missing). Run `textbatch "
                              "vectorize` to build one.") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: corrupt cache manifest ({exc}). Delete the cache and run "
                              "`textbatch vectorize` again.") from exc
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path}: cache format {version}, this textbatch reads "
                              f"{FORMAT_VERSION}. Delete the cache and vectorize again.")
    return manifest


def open_cache(directory: str | Path, key: dict[str, Any]) -> CacheSource | None:
    """The cache at ``directory`` if it exists, is intact and was built for ``key``; else None
    (the caller rebuilds it). The key compares as JSON, so tuples and lists are equal."""
    if not (Path(directory) / MANIFEST).is_file():
        return None
    try:
        source = CacheSource(directory)
    except CheckpointError:
        return None
    if source.key != json.loads(json.dumps(key)):
        return None
    return source
