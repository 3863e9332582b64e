"""Open a shard as a stream of (decompressed) bytes, and position it at a byte offset.

Compression is chosen by suffix, never sniffed, so the same bytes always mean the same records.
Offsets are always into the *decompressed* stream: that is what a reader can count while it
reads, and what the manifest stores. Local paths use the builtin ``open`` (no per-read overhead
on the hot path); anything with a scheme goes through fsspec.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import queue
import threading
import zlib
from typing import BinaryIO, Callable, TextIO

from textbatch.errors import DataError
from textbatch.io.shards import local_path, redact, without_query

COMPRESSIONS: dict[str, str] = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
BUFFER_SIZE = 1 << 20  # 1 MiB reads: few syscalls / HTTP range requests per shard
_SKIP_CHUNK = 1 << 22


def compression_of(url: str) -> str | None:
    """The compression named by the suffix of ``url`` ("gzip", "bz2", "xz", "zstd") or None."""
    lower = without_query(url).lower()
    for suffix, name in COMPRESSIONS.items():
        if lower.endswith(suffix):
            return name
    return None


def strip_compression(url: str) -> str:
    """``url`` without its compression suffix (and query): ``train.csv.gz`` -> ``train.csv``."""
    url = without_query(url)
    lower = url.lower()
    for suffix in COMPRESSIONS:
        if lower.endswith(suffix):
            return url[: -len(suffix)]
    return url


def decompression_errors() -> tuple[type[BaseException], ...]:
    """Exceptions a decompressor raises on truncated or corrupt input (OSError covers
    gzip.BadGzipFile and bz2's "Invalid data stream")."""
    import zstandard

    return (EOFError, zlib.error, lzma.LZMAError, zstandard.ZstdError, OSError)


class _OwningReader(io.BufferedReader):
    """A buffered reader that also closes the streams underneath it (fsspec file, raw file)."""

    def __init__(self, stream: io.RawIOBase | io.BufferedIOBase, owned: list) -> None:
        super().__init__(stream, BUFFER_SIZE)  # type: ignore[arg-type]
        self._owned = owned

    def close(self) -> None:
        try:
            super().close()
        finally:
            for handle in reversed(self._owned):
                handle.close()


class _ZstdReader(io.RawIOBase):
    """Adapts zstandard's stream reader to RawIOBase, reading across frames, and reports a
    stream that ends mid-frame as EOFError like gzip/bz2/lzma do (zstandard returns b"")."""

    def __init__(self, raw: BinaryIO) -> None:
        import zstandard

        self._raw = raw
        self._obj = zstandard.ZstdDecompressor().decompressobj()
        self._pending = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._pending and not self._eof:
            self._fill()
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _fill(self) -> None:
        import zstandard

        chunk = self._raw.read(BUFFER_SIZE)
        if not chunk:
            self._eof = True
            if not self._obj.eof and self._started:
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            return
        self._started = True
        out = []
        while chunk:
            out.append(self._obj.decompress(chunk))
            if not self._obj.eof:
                break
            chunk = self._obj.unused_data  # the next frame starts here
            self._obj = zstandard.ZstdDecompressor().decompressobj()
            if not chunk:
                self._started = False
        self._pending = b"".join(out)

    _started = False


class _Prefetch(io.RawIOBase):
    """Decompresses in a background thread, a few MiB ahead of the reader.

    zlib, bz2, lzma and zstd release the GIL while they work, so on two cores decompression
    overlaps parsing (it is about half the cost of reading a gzipped Zhang CSV). Errors raised
    by the decompressor (a truncated file) are re-raised in the reading thread, in order.
    """

    _DEPTH = 4

    def __init__(self, source: io.IOBase) -> None:
        self._source = source
        self._queue: queue.Queue = queue.Queue(self._DEPTH)
        self._stop = threading.Event()
        self._chunk = memoryview(b"")
        self._done = False
        self._thread = threading.Thread(target=self._run, name="textbatch-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # read1 returns what one step of decompression produced, so the bytes before a
        # truncation still arrive (read(n) would raise and drop them).
        read = getattr(self._source, "read1", None) or self._source.read  # type: ignore[attr-defined]
        try:
            while not self._stop.is_set():
                chunk = read(BUFFER_SIZE)
                self._put(chunk)
                if not chunk:
                    return
        except BaseException as exc:  # handed to the reader, raised there
            self._put(exc)

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if not self._chunk:
            if self._done:
                return 0
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._done = True
                raise item
            if not item:
                self._done = True
                return 0
            self._chunk = memoryview(item)
        size = min(len(buffer), len(self._chunk))
        buffer[:size] = self._chunk[:size]
        self._chunk = self._chunk[size:]
        return size

    def close(self) -> None:
        if not self.closed:
            self._stop.set()
            self._thread.join()
            self._source.close()
        super().close()


def _decompressor(name: str) -> Callable[[BinaryIO], io.IOBase]:
    factories: dict[str, Callable[[BinaryIO], io.IOBase]] = {
        "gzip": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
        "bz2": lambda raw: bz2.BZ2File(raw, mode="rb"),
        "xz": lambda raw: lzma.LZMAFile(raw, mode="rb"),
        "zstd": _ZstdReader,
    }
    return factories[name]


def _open_raw(url: str) -> BinaryIO:
    path = local_path(url)
    try:
        if path is not None:
            return open(path, "rb", buffering=BUFFER_SIZE)
        import fsspec

        # fsspec's files lack readline(limit) (and are slow per line): buffer them in C.
        return io.BufferedReader(fsspec.open(url, "rb").open(), BUFFER_SIZE)  # type: ignore[arg-type]
    except FileNotFoundError:
        raise DataError(redact(url), None, "no such file", hint="Check the path or URL.") from None
    except IsADirectoryError:
        raise DataError(redact(url), None, "is a directory, not a file",
                        hint="Pass --format folders for one folder per class.") from None
    except OSError as exc:
        raise DataError(redact(url), None, f"cannot open: {exc}", hint=None) from None


def open_binary(url: str) -> BinaryIO:
    """A readable binary stream of ``url``'s content, decompressed by suffix.

    Args:
        url: a local path, ``file://`` URL or any fsspec URL (``s3://``, ``gs://``, ``https://``).

    Raises:
        DataError: the file does not exist or cannot be opened.
    """
    raw = _open_raw(url)
    name = compression_of(url)
    if name is None:
        return raw
    try:
        return _OwningReader(_Prefetch(_decompressor(name)(raw)), [raw])
    except BaseException:
        raw.close()
        raise


def open_text(url: str, encoding: str = "utf-8", errors: str = "strict") -> TextIO:
    """``open_binary`` decoded as text (UTF-8, strict by default: bad bytes are an error)."""
    return io.TextIOWrapper(open_binary(url), encoding=encoding, errors=errors, newline="")


def skip_bytes(stream: BinaryIO, count: int, url: str) -> None:
    """Read and discard ``count`` bytes: the only way to move forward in a compressed stream.

    Raises:
        DataError: the stream ends first (the file changed since the offset was recorded), or
            the compressed data is corrupt.
    """
    remaining = count
    try:
        while remaining > 0:
            chunk = stream.read(min(remaining, _SKIP_CHUNK))
            if not chunk:
                break
            remaining -= len(chunk)
    except decompression_errors() as exc:
        raise DataError(redact(url), None, f"cannot read compressed data before byte offset "
                        f"{count}: {exc}", hint=None) from None
    if remaining > 0:
        _too_short(url, count, count - remaining)


def _too_short(url: str, offset: int, size: int) -> None:
    raise DataError(
        redact(url), None, f"cannot start at byte offset {offset}: the (decompressed) file has "
        f"only {size} bytes", hint="The file changed since its manifest was built; rebuild it.",
    )


def open_at(url: str, offset: int) -> BinaryIO:
    """``open_binary(url)`` positioned at byte ``offset`` of the decompressed content.

    Seeks when the file is uncompressed and its stream seekable; otherwise reads and discards
    (there is no random access into gzip/bz2/xz/zstd streams).
    """
    stream = open_binary(url)
    if offset <= 0:
        return stream
    try:
        if compression_of(url) is None and stream.seekable():
            size = stream.seek(0, os.SEEK_END)
            if offset > size:
                _too_short(url, offset, size)
            stream.seek(offset)
        else:
            skip_bytes(stream, offset, url)
    except BaseException:
        stream.close()
        raise
    return stream
