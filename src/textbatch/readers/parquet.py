"""Parquet files, read one row group at a time (pyarrow), so memory is bounded by the largest
row group rather than the file. ``Position.offset`` is the row index: a seek opens the row group
that holds it."""

from __future__ import annotations

from typing import Iterator

from textbatch.errors import DataError
from textbatch.io import local_path, redact
from textbatch.readers.base import BadRecords, Position, ReaderBase, Record
from textbatch.readers.jsonl import _INVALID, label_value


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        raise DataError("parquet", None, "reading Parquet needs pyarrow",
                        hint="Install it: pip install pyarrow") from None
    return pq


class ParquetReader(ReaderBase):
    """Reads ``text_field`` / ``label_field`` columns of a Parquet file (a list column of
    labels gives multi-label records)."""

    name = "parquet"

    def read(
        self, shard: str, bad: BadRecords, start: Position | None = None
    ) -> Iterator[tuple[Position, Record]]:
        path = redact(shard)
        with _open(shard) as handle:
            parquet = _parquet_file(handle, path)
            columns = self._columns(parquet, path)
            first = start.offset if start else 0
            row = 0
            for group in range(parquet.num_row_groups):
                size = parquet.metadata.row_group(group).num_rows
                if row + size > first:
                    table = _read_group(parquet, group, columns, path, row)
                    yield from self._records(table, columns, row, max(first - row, 0), path, bad)
                row += size

    def _columns(self, parquet, path: str) -> list[str]:
        names = parquet.schema_arrow.names
        wanted = [self.config.text_field]
        if self.config.label_field in names:
            wanted.append(self.config.label_field)
        elif self.labelled:
            raise DataError(path, None, f"no column {self.config.label_field!r}; the file has "
                            f"{names}", hint="Pass --label-field with one of them.")
        if self.config.text_field not in names:
            raise DataError(path, None, f"no column {self.config.text_field!r}; the file has "
                            f"{names}", hint="Pass --text-field with one of them.")
        return wanted

    def _records(self, table, columns, first_row, skip, path, bad) -> Iterator[tuple[Position, Record]]:
        texts = table.column(columns[0]).to_pylist()
        labels = table.column(columns[1]).to_pylist() if len(columns) > 1 else None
        for index in range(skip, len(texts)):
            row = first_row + index
            text = texts[index]
            if not isinstance(text, str) or not text or text.isspace():
                bad.handle(path, row + 1, "empty or missing text", "empty_text")
                continue
            label = label_value(labels[index]) if labels is not None else None
            if label is _INVALID:
                bad.handle(path, row + 1, f"invalid label in column {columns[1]!r}",
                           "missing_label")
                continue
            record = self.record(text, label, path, row + 1, bad)
            if record is not None:
                yield Position(row, row + 1), record


def _open(shard: str):
    path = local_path(shard)
    try:
        if path is not None:
            return open(path, "rb")
        import fsspec

        return fsspec.open(shard, "rb").open()
    except OSError as exc:
        raise DataError(redact(shard), None, f"cannot open: {exc}", hint=None) from None


def _parquet_file(handle, path: str):
    pq = _pyarrow_parquet()
    import pyarrow as pa

    try:
        return pq.ParquetFile(handle)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(path, None, f"not a readable Parquet file: {exc}", hint=None) from None


def _read_group(parquet, group: int, columns: list[str], path: str, first_row: int):
    import pyarrow as pa

    try:
        return parquet.read_row_group(group, columns=columns)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(path, first_row + 1, f"corrupt row group {group}: {exc}",
                        hint=None) from None
