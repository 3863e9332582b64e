"""Seek round-trips: starting at the k-th yielded Position yields exactly records k..end, for
every format and compression (the manifest and resume depend on it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from format_writers import COMPRESS, LINE_WRITERS, write_folders, write_parquet, write_zhang
from textbatch.config import ReadConfig
from textbatch.errors import DataError
from textbatch.readers import BadRecords, Position, get_reader

# Quoted newlines, doubled quotes, commas, a blank line's worth of text, non-ASCII: the offsets
# must stay byte-exact across all of them.
PAIRS = [
    ("first line\nsecond line of the same record", "pos"),
    ('she said "hi", then left', "neg"),
    ("plain", "pos"),
    ("ünïcödé → 文字", "neg"),
    ("a, b, c", "pos"),
    ("x" * 3000, "neg"),
    ("last one", "pos"),
]
ONE_LINE = [(text.replace("\n", " "), label) for text, label in PAIRS]


def assert_seeks(shard: str, config: ReadConfig, expected: list[tuple[str, str]]) -> None:
    reader = get_reader(shard, config)
    full = list(reader.read(shard, BadRecords()))
    assert [(r.text, r.label) for _, r in full] == expected
    for k, (position, record) in enumerate(full):
        rest = list(reader.read(shard, BadRecords(), start=position))
        assert [r for _, r in rest] == [r for _, r in full[k:]]
        assert [p for p, _ in rest] == [p for p, _ in full[k:]]
        assert rest[0][1].line == record.line == position.line


@pytest.mark.parametrize("suffix", list(COMPRESS))
@pytest.mark.parametrize("fmt", list(LINE_WRITERS))
def test_seek_line_formats(tmp_path: Path, fmt: str, suffix: str) -> None:
    pairs = PAIRS if fmt in ("csv", "jsonl") else ONE_LINE
    shard, expected = LINE_WRITERS[fmt](tmp_path, pairs, suffix)
    assert_seeks(shard, ReadConfig(format=fmt), expected)


@pytest.mark.parametrize("suffix", list(COMPRESS))
def test_seek_zhang(tmp_path: Path, suffix: str) -> None:
    rows = [("title", text, i % 3) for i, (text, _) in enumerate(PAIRS)]
    shard, expected = write_zhang(tmp_path, rows, ["a", "b", "c"], suffix)
    assert_seeks(shard, ReadConfig(), expected)


def test_seek_parquet_across_row_groups(tmp_path: Path) -> None:
    shard, expected = write_parquet(tmp_path, PAIRS)  # row groups of 3 rows
    assert_seeks(shard, ReadConfig(), expected)


def test_seek_folders(tmp_path: Path) -> None:
    shard, expected = write_folders(tmp_path, PAIRS)
    assert_seeks(shard, ReadConfig(), expected)


def test_seek_with_header_mid_file(tmp_path: Path) -> None:
    """A seek past the header still knows the columns (read from the file's first row)."""
    shard = tmp_path / "d.csv"
    shard.write_text("id,text,label\n1,aa,x\n2,bb,y\n3,cc,x\n", encoding="utf-8")
    assert_seeks(str(shard), ReadConfig(), [("aa", "x"), ("bb", "y"), ("cc", "x")])


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_seek_past_end_is_a_data_error(tmp_path: Path, suffix: str) -> None:
    shard, _ = LINE_WRITERS["jsonl"](tmp_path, ONE_LINE, suffix)
    reader = get_reader(shard, ReadConfig())
    with pytest.raises(DataError, match="cannot start at byte offset 999999"):
        list(reader.read(shard, BadRecords(), start=Position(999_999, 9)))
