"""CSV rows with the byte offset and line where each starts, shared by the Zhang and generic
CSV readers.

``csv.reader`` pulls lines lazily, one more each time a quoted field runs past a newline, so
the first line it pulls after yielding a row is where the next row begins: ``Lines.mark``.
"""

from __future__ import annotations

import csv
from typing import Iterator

from textbatch.readers.base import Position
from textbatch.readers.lines import Lines, first_line

# Fields over 128 KiB are real (long reviews, whole articles); csv's default limit is 128 KiB.
# 256 MiB bounds the memory an unclosed quote can swallow before it is reported.
FIELD_SIZE_LIMIT = 1 << 28
if csv.field_size_limit() < FIELD_SIZE_LIMIT:
    csv.field_size_limit(FIELD_SIZE_LIMIT)


def csv_rows(lines: Lines, delimiter: str = ",") -> Iterator[tuple[Position, list[str]]]:
    """``(start, fields)`` of every non-blank row; malformed rows go to ``lines.bad``."""
    rows = csv.reader(lines.texts(), delimiter=delimiter, strict=False)
    while True:
        try:
            for row in rows:
                start = lines.mark
                lines.fresh = True
                if row:
                    yield start, row
            return
        except csv.Error as exc:
            start = lines.mark
            lines.fresh = True
            lines.bad.handle(lines.path, start.line, f"malformed CSV: {exc}", "malformed")


def first_row(url: str, delimiter: str = ",") -> list[str]:
    """The first non-blank row of a delimited file, for sniffing (lenient decoding)."""
    text = first_line(url, limit=1 << 20)
    try:
        for row in csv.reader([text], delimiter=delimiter, strict=False):
            return row
    except csv.Error:
        return []
    return []
