"""Generic CSV and TSV files: columns by header name or by 0-based index.

CSV is parsed with ``csv`` (quoted fields may hold commas and newlines). TSV is split on tabs
with no quoting at all, as the SMS Spam Collection and most ``label<TAB>text`` dumps are written
(their texts contain stray quotes that a CSV parser would misread); a TSV field cannot hold a tab
or a newline.

Columns: ``ReadConfig.text_columns`` (several are joined with a space) and ``label_column``;
when not given, the columns named ``text`` and ``label`` of a header, or for a headerless file
of exactly two fields, ``label`` = field 0 and ``text`` = field 1. With
``ReadConfig.label_separator`` the label column holds a list (``joy|love``); only that column
is split, so the separator may appear freely in the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from textbatch.config import ReadConfig
from textbatch.errors import DataError
from textbatch.io import redact
from textbatch.readers.base import BadRecords, Position, ReaderBase, Record
from textbatch.readers.csv_rows import csv_rows, first_row
from textbatch.readers.lines import Lines


@dataclass(frozen=True)
class Layout:
    """Where text and label sit in each row, resolved once per shard from its first row."""

    header: bool
    width: int
    text: tuple[int, ...]
    label: int | None


class DelimitedReader(ReaderBase):
    """Reads CSV (``delimiter=","``) or TSV (``delimiter="\\t"``) files; see the module doc."""

    def __init__(
        self, config: ReadConfig | None = None, labelled: bool = True, delimiter: str = ","
    ) -> None:
        super().__init__(config, labelled)
        self.delimiter = delimiter
        self.name = "csv" if delimiter == "," else "tsv"
        self._layouts: dict[str, Layout] = {}

    def layout(self, shard: str) -> Layout:
        """Header and column positions of ``shard`` (cached: a seek mid-file needs them too)."""
        if shard not in self._layouts:
            self._layouts[shard] = self._resolve(shard, self._head(shard))
        return self._layouts[shard]

    def _head(self, shard: str) -> list[str]:
        if self.delimiter == ",":
            return first_row(shard)
        from textbatch.readers.lines import first_line

        return first_line(shard).rstrip("\r\n").split("\t")

    def _resolve(self, shard: str, head: list[str]) -> Layout:
        config = self.config
        wanted = [*config.text_columns, *([config.label_column] if config.label_column is not
                                         None else [])]
        header = config.header
        if header is None:
            named = any(isinstance(c, str) for c in wanted)
            header = named or (not wanted and bool({"text", "label"} & {h.strip() for h in head}))
        names = [h.strip() for h in head] if header else []
        text = tuple(self._index(shard, c, names, len(head)) for c in config.text_columns)
        label = (self._index(shard, config.label_column, names, len(head))
                 if config.label_column is not None else None)
        if not text:
            text, label = self._defaults(shard, names, len(head), label)
        if label is None and self.labelled:
            raise DataError(redact(shard), 1, f"no label column among {names or len(head)} "
                            "fields", hint="Pass --label-column (a name or a 0-based index).")
        return Layout(bool(header), len(head), text, label)

    def _defaults(
        self, shard: str, names: list[str], width: int, label: int | None
    ) -> tuple[tuple[int, ...], int | None]:
        if names and "text" in names:
            return (names.index("text"),), label if label is not None else (
                names.index("label") if "label" in names else None)
        if not names and width == 2:
            return (1,), label if label is not None else 0
        what = f"the header {names}" if names else f"{width} fields and no header"
        raise DataError(redact(shard), 1, f"cannot tell which column holds the text ({what})",
                        hint="Pass --text-column and --label-column (names or 0-based indices).")

    @staticmethod
    def _index(shard: str, column: str | int, names: list[str], width: int) -> int:
        if isinstance(column, int):
            if 0 <= column < width:
                return column
            raise DataError(redact(shard), 1, f"column index {column} is out of range: rows have "
                            f"{width} fields", hint="Column indices are 0-based.")
        if column in names:
            return names.index(column)
        raise DataError(redact(shard), 1, f"no column named {column!r}; the header has {names}",
                        hint="Pass one of those names, or a 0-based index.")

    def read(
        self, shard: str, bad: BadRecords, start: Position | None = None
    ) -> Iterator[tuple[Position, Record]]:
        layout = self.layout(shard)
        lines = Lines(shard, bad, start, taint=self.delimiter == ",")
        rows = (csv_rows(lines, layout.width, allow_multiline=self.config.allow_multiline)
                if self.delimiter == "," else _tsv_rows(lines))
        path = lines.path
        skip_header = layout.header and (start is None or start.offset == 0)
        for position, row in rows:
            if skip_header:
                skip_header = False
                continue
            record = self._record(row, layout, path, position.line, bad)
            if record is not None:
                yield position, record

    def _record(
        self, row: list[str], layout: Layout, path: str, line: int, bad: BadRecords
    ) -> Record | None:
        if len(row) != layout.width:
            bad.handle(path, line, f"expected {layout.width} fields, got {len(row)}"
                       f"{self._separator_hint()}", "field_count")
            return None
        parts = [row[i] for i in layout.text]
        text = parts[0] if len(parts) == 1 else " ".join(p for p in parts if p)
        label = row[layout.label].strip() if layout.label is not None else None
        return self.record(text, label, path, line, bad)


    def _separator_hint(self) -> str:
        """Why a row may have too many fields when labels are joined by the delimiter itself."""
        if self.config.label_separator != self.delimiter:
            return ""
        if self.delimiter == ",":
            return ('; the label separator "," is also the delimiter, so a label list must be '
                    'quoted ("joy,love")')
        return "; the label separator is the TSV delimiter (TSV has no quoting): pick another"


def _tsv_rows(lines: Lines) -> Iterator[tuple[Position, list[str]]]:
    for offset, line, text in lines.numbered():
        text = text.rstrip("\r\n")
        if text:
            yield Position(offset, line), text.split("\t")
