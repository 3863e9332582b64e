"""Numbered, decoded lines of a shard with their byte offsets: the layer every line-based
reader (Zhang, CSV/TSV, JSONL, fastText, label-text) stands on.

Bad bytes are handled here, once, so every format reports them the same way: undecodable
UTF-8 (with the byte offset), NUL bytes, lines longer than ``MAX_LINE_BYTES``, and a
compressed file that ends early or is corrupt (the shard ends there; with the skip policy it
counts once). Blank lines carry no record and are passed over by the formats.

A UTF-8 byte-order mark at the start of a file is dropped here, for every format (Excel and
Notepad write one; left in, it glues itself to the first header name or the first label). A
UTF-16 or UTF-32 mark stops the read with a one-line error: such a file is not UTF-8 at all.
"""

from __future__ import annotations

from typing import BinaryIO, Iterator

from textbatch.errors import DataError
from textbatch.io import open_at, redact
from textbatch.io.streams import decompression_errors
from textbatch.readers.base import BadRecords, Position, ReaderBase, Record

UTF8_BOM = b"\xef\xbb\xbf"
# UTF-32 LE starts with the UTF-16 LE mark, so three prefixes cover the four wide encodings.
WIDE_BOMS = {b"\xff\xfe": "UTF-16/UTF-32 (little-endian)", b"\xfe\xff": "UTF-16 (big-endian)",
             b"\x00\x00\xfe\xff": "UTF-32 (big-endian)"}

MAX_LINE_BYTES = 1 << 28  # 256 MiB: past that a "line" is a runaway (no newline in the data)
_DRAIN_CHUNK = 1 << 22


class Lines:
    """Iterates a shard's lines from ``start``, handing bad bytes to ``bad``.

    With ``taint`` (CSV, where a record may span lines), a line with bad bytes is not dropped
    but handed on decoded leniently (NUL as U+FFFD), its problem noted in ``taint``: the CSV
    layer then drops the whole record it belongs to, instead of re-reading the rest of that
    record as new records. ``last_size`` is the byte size of the line just handed out.
    """

    __slots__ = ("url", "path", "bad", "start", "taint", "last_size")

    def __init__(self, url: str, bad: BadRecords, start: Position | None = None,
                 taint: bool = False) -> None:
        self.url = url
        self.path = redact(url)
        self.bad = bad
        self.start = start or Position(0, 1)
        self.taint: list[tuple[int, str, str]] | None = [] if taint else None
        self.last_size = 0

    def numbered(self, start: Position | None = None) -> Iterator[tuple[int, int, str]]:
        """``(byte_offset, line_number, text)`` per good line, text with its line ending, from
        ``start`` (default: the reader's start)."""
        start = start or self.start
        offset, line = start.offset, start.line
        stream = open_at(self.url, offset)
        errors = decompression_errors()
        with stream:
            readline = stream.readline
            while True:
                try:
                    raw = readline(MAX_LINE_BYTES)
                except errors as exc:
                    self._truncated(line, exc)
                    return
                if not raw:
                    return
                size = len(raw)
                if offset == 0:
                    raw = strip_bom(raw, self.path)
                if size == MAX_LINE_BYTES and raw[-1] != 10:
                    size += self._overlong(stream, offset, line)
                else:
                    text = self._decode(raw, offset, line)
                    if text is not None:
                        self.last_size = size
                        yield offset, line, text
                offset += size
                line += 1

    def _decode(self, raw: bytes, offset: int, line: int) -> str | None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return self._bad_bytes(raw, line, f"invalid UTF-8 at byte offset {offset + exc.start}"
                                   f" (byte 0x{raw[exc.start]:02x}); the file must be UTF-8",
                                   "encoding")
        if "\x00" in text:
            return self._bad_bytes(raw, line, "NUL byte at byte offset "
                                   f"{offset + text.index(chr(0))} (a binary file?)", "nul_byte")
        return text

    def _bad_bytes(self, raw: bytes, line: int, reason: str, kind: str) -> str | None:
        if self.taint is None:
            self.bad.handle(self.path, line, reason, kind)
            return None
        self.taint.append((line, reason, kind))
        return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")

    def _overlong(self, stream: BinaryIO, offset: int, line: int) -> int:
        """Report a line without a newline in its first MAX_LINE_BYTES; skip to its end."""
        self.bad.handle(self.path, line, f"line longer than {MAX_LINE_BYTES} bytes at byte offset "
                        f"{offset} (not a text file?)", "line_too_long")
        drained = 0
        while True:
            chunk = stream.readline(_DRAIN_CHUNK)
            drained += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                return drained

    def _truncated(self, line: int, exc: BaseException) -> None:
        last = line - 1
        where = f"after line {last}, the last good one" if last >= 1 else "before its first line"
        self.bad.handle(self.path, line, f"truncated or corrupt compressed file: it ends {where} "
                        f"({type(exc).__name__}: {exc})", "truncated")


def strip_bom(raw: bytes, path: str) -> bytes:
    """The first bytes of a file without a UTF-8 byte-order mark; a wide-encoding mark is a
    DataError (the whole file is unreadable as UTF-8, so there is nothing to skip to)."""
    if raw.startswith(UTF8_BOM):
        return raw[len(UTF8_BOM):]
    for mark, encoding in WIDE_BOMS.items():
        if raw.startswith(mark):
            raise DataError(path, 1, f"the file starts with a {encoding} byte-order mark; "
                            "textbatch reads UTF-8", hint="Convert it first, e.g. iconv -f "
                            "UTF-16 -t UTF-8 FILE > FILE.utf8.")
    return raw


def first_line(url: str, limit: int = 1 << 16) -> str:
    """The first non-blank line (at most ``limit`` bytes), decoded leniently: for sniffing only."""
    stream = open_at(url, 0)
    try:
        with stream:
            for index in range(1000):
                raw = stream.readline(limit)
                if not raw:
                    return ""
                if index == 0 and raw.startswith(UTF8_BOM):
                    raw = raw[len(UTF8_BOM):]
                if raw.strip():
                    return raw.decode("utf-8", errors="replace")
    except decompression_errors():
        return ""
    return ""


class LineRecordReader(ReaderBase):
    """A format with one record per line (JSONL, fastText, label-text): blank lines are passed
    over and every other line goes to ``line_record``."""

    def read(
        self, shard: str, bad: BadRecords, start: Position | None = None
    ) -> Iterator[tuple[Position, Record]]:
        lines = Lines(shard, bad, start)
        path = lines.path
        for offset, line, text in lines.numbered():
            if not text or text.isspace():
                continue
            record = self.line_record(text, path, line, bad)
            if record is not None:
                yield Position(offset, line), record

    def line_record(self, text: str, path: str, line: int, bad: BadRecords) -> Record | None:
        """The record of one non-blank line (with its line ending), or None after ``bad``
        took it."""
        raise NotImplementedError
