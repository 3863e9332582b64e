"""CSV rows with the byte offset and line where each starts, shared by the Zhang and generic
CSV readers, and the rule that stops an unclosed quote from swallowing a file.

Each record is parsed by its own ``csv.reader`` fed its first line and then, only while a quoted
field is still open, the lines after it (``_Span``). That makes two silent losses visible:

* a quote still open at the end of the file (``csv`` with ``strict=False`` would return the
  rest of the file as one field), and
* a quoted field that crosses line breaks and leaves the record with the wrong number of
  fields (the quote closed by accident on a later line), and
* a quoted field that crosses more than ``MAX_QUOTED_NEWLINES`` line breaks or
  ``MAX_QUOTED_BYTES`` bytes, where a stray quote usually closes, by accident, many lines
  later with a plausible field count. Real multi-paragraph fields pass with
  ``ReadConfig.allow_multiline`` (``--allow-multiline``), bounded only by ``FIELD_SIZE_LIMIT``.

Both are bad records (kind ``unclosed_quote``) reported at the line where the quote opened; when
skipped, reading resumes on the next line, so the records the quote had swallowed are read.
"""

from __future__ import annotations

import csv
import itertools
from typing import Callable, Iterator

from textbatch.readers.base import Position
from textbatch.readers.lines import Lines, first_line

# Fields over 128 KiB are real (long reviews, whole articles); csv's default limit is 128 KiB.
# 256 MiB bounds the memory an unclosed quote can swallow before it is reported.
FIELD_SIZE_LIMIT = 1 << 28
if csv.field_size_limit() < FIELD_SIZE_LIMIT:
    csv.field_size_limit(FIELD_SIZE_LIMIT)
# Without --allow-multiline: a record may continue over at most this many further lines and
# bytes. Multi-paragraph reviews stay far below; a runaway quote in a large file does not.
MAX_QUOTED_NEWLINES = 32
MAX_QUOTED_BYTES = 1 << 20
Split = Callable[[str], "list[str] | None"]


class _Runaway(Exception):
    """A quoted field crossed the newline or byte limit."""


class _Span:
    """The lines a record pulls after its first one, counted against the limits."""

    __slots__ = ("rest", "newlines", "size", "eof", "limited")

    def __init__(self, rest: Iterator[tuple[int, int, str]], limited: bool) -> None:
        self.rest, self.limited = rest, limited
        self.newlines = self.size = 0
        self.eof = False

    def __iter__(self) -> Iterator[str]:
        for _, _, text in self.rest:
            self.newlines += 1
            self.size += len(text)
            if self.limited and (self.newlines > MAX_QUOTED_NEWLINES
                                 or self.size > MAX_QUOTED_BYTES):
                raise _Runaway
            yield text
        self.eof = True


def csv_rows(lines: Lines, width: int, delimiter: str = ",", *, allow_multiline: bool = False,
             split: Split | None = None) -> Iterator[tuple[Position, list[str]]]:
    """``(start, fields)`` of every non-blank row; malformed rows go to ``lines.bad``.
    ``lines`` must be made with ``taint=True``.

    ``width`` is the number of fields a row must have: a multi-line row with another count is
    an unclosed quote (rows of one line with a wrong count are the reader's to report).
    ``split`` is an optional fast path: it returns a line's fields when the line is obviously
    a complete row (Zhang's all-quoted rows), or None to let ``csv`` decide.
    """
    start: Position | None = lines.start
    while start is not None:
        start = yield from _rows_from(lines, start, (width, delimiter, allow_multiline), split)


def _rows_from(lines: Lines, start: Position, shape: tuple[int, str, bool], split: Split | None):
    """Rows from ``start``; returns where to restart after an unclosed quote, else None."""
    numbered = lines.numbered(start)
    for offset, line, text in numbered:
        size = lines.last_size
        row = split(text) if split is not None else None
        if row is None:
            row = _parse(lines, line, text, _Span(numbered, not shape[2]), shape)
            if row is _UNCLOSED:
                lines.taint.clear()  # type: ignore[union-attr]
                return Position(offset + size, line + 1)
        if lines.taint:  # a line of this record had bad bytes: the whole record goes
            lines.bad.handle(lines.path, *lines.taint[0])
            lines.taint.clear()
        elif row:
            yield Position(offset, line), row
    return None


_UNCLOSED: list[str] = []


def _parse(lines: Lines, line: int, text: str, span: _Span, shape: tuple[int, str, bool]
           ) -> list[str] | None:
    """One record from ``text`` and, while a quote is open, the lines of ``span``."""
    bad, (width, delimiter, _) = lines.bad, shape
    try:
        row = next(csv.reader(itertools.chain((text,), span), delimiter=delimiter,
                              strict=False), None)
    except _Runaway:
        bad.handle(lines.path, line, f"a quoted field opened on this line runs on for more than "
                   f"{MAX_QUOTED_NEWLINES} lines or {MAX_QUOTED_BYTES >> 20} MiB (an unclosed "
                   "quote?); pass --allow-multiline if such long fields are real",
                   "unclosed_quote")
        return _UNCLOSED
    except csv.Error as exc:
        bad.handle(lines.path, line, f"malformed CSV: {exc}", "malformed")
        return None
    if span.eof:
        bad.handle(lines.path, line, "a quoted field opened on this line is never closed (the "
                   "file ends inside it)", "unclosed_quote")
        return _UNCLOSED
    if span.newlines and row is not None and len(row) != width:
        bad.handle(lines.path, line, f"a quoted field opened on this line runs over "
                   f"{span.newlines + 1} lines and leaves {len(row)} fields, not {width} (an "
                   "unclosed quote?)", "unclosed_quote")
        return _UNCLOSED
    return row


def first_row(url: str, delimiter: str = ",") -> list[str]:
    """The first non-blank row of a delimited file, for sniffing (lenient decoding)."""
    text = first_line(url, limit=1 << 20)
    try:
        for row in csv.reader([text], delimiter=delimiter, strict=False):
            return row
    except csv.Error:
        return []
    return []
