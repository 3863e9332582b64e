"""Which reader reads a shard: ``--format``, else the suffix, else a look at the first line.

One dict (``FORMATS``) and one dispatcher (``get_reader``); an unknown name lists the known ones.
"""

from __future__ import annotations

import functools
import posixpath
from typing import Callable, Iterator

from textbatch.config import ReadConfig
from textbatch.errors import ConfigError
from textbatch.io import is_dir, local_path, redact, strip_compression
from textbatch.readers.base import BadRecords, Reader, Record
from textbatch.readers.csv_rows import first_row
from textbatch.readers.delimited import DelimitedReader
from textbatch.readers.fasttext_lines import LABEL_PREFIX, FastTextReader, LabelTextReader
from textbatch.readers.folders import FoldersReader
from textbatch.readers.jsonl import JsonlReader
from textbatch.readers.lines import first_line
from textbatch.readers.parquet import ParquetReader
from textbatch.readers.zhang import ZhangReader

ReaderFactory = Callable[..., Reader]

FORMATS: dict[str, ReaderFactory] = {
    "zhang": ZhangReader,
    "csv": functools.partial(DelimitedReader, delimiter=","),
    "tsv": functools.partial(DelimitedReader, delimiter="\t"),
    "jsonl": JsonlReader,
    "parquet": ParquetReader,
    "fasttext": FastTextReader,
    "label-text": LabelTextReader,
    "folders": FoldersReader,
}

SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ft": "fasttext",
    ".fasttext": "fasttext",
}


def get_reader(shard: str, config: ReadConfig | None = None, *, labelled: bool = True) -> Reader:
    """The reader for ``shard``.

    Args:
        shard: one entry of ``textbatch.io.expand_shards``.
        config: ``format`` overrides detection; column/field options go to the reader.
        labelled: False for data to predict on, where a missing label is not an error.

    Raises:
        ConfigError: an unknown ``--format`` (the message lists the known ones), or a file whose
            format cannot be told from its suffix or first line.
    """
    config = config or ReadConfig()
    name = config.format or detect_format(shard)
    if name not in FORMATS:
        raise ConfigError(f"Unknown format {name!r}. Known formats: {', '.join(FORMATS)}.")
    if name == "csv" and looks_like_zhang(shard, config):
        name = "zhang"
    return FORMATS[name](config, labelled=labelled)


def detect_format(shard: str) -> str:
    """The format name from the suffix (compression stripped), a directory, or the first line."""
    base = strip_compression(shard).rstrip("/")
    suffix = posixpath.splitext(posixpath.basename(base.replace("\\", "/")))[1].lower()
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    if (local_path(shard) is not None or not suffix) and is_dir(shard):
        return "folders"
    return sniff_format(shard)


def sniff_format(shard: str) -> str:
    """``__label__`` -> fasttext; a TAB -> tsv; ``label<space>text`` -> label-text."""
    line = first_line(shard).rstrip("\r\n")
    if line.startswith(LABEL_PREFIX):
        return "fasttext"
    if "\t" in line:
        return "tsv"
    label, space, text = line.partition(" ")
    if space and label and text.strip() and '"' not in label and "," not in label:
        return "label-text"
    raise ConfigError(
        f"{redact(shard)}: cannot tell the format from the suffix or the first line "
        f"({line[:60]!r}). Pass --format with one of: {', '.join(FORMATS)}."
    )


def looks_like_zhang(shard: str, config: ReadConfig) -> bool:
    """A ``.csv`` with no columns configured whose first row is 2-3 fields led by a positive
    integer is a Zhang CSV (no header, 1-indexed class)."""
    if config.text_columns or config.label_column is not None or config.header:
        return False
    row = first_row(shard)
    return 2 <= len(row) <= 3 and row[0].strip().isdigit() and int(row[0]) >= 1


def read_records(shards: list[str], config: ReadConfig | None, bad: BadRecords, *,
                 labelled: bool = True) -> Iterator[Record]:
    """Every record of every shard (from ``expand_shards``), in order: the read loop of the
    sequential passes (explore, evaluate, predict)."""
    for shard in shards:
        for _, record in get_reader(shard, config, labelled=labelled).read(shard, bad):
            yield record
