"""Bad input never passes silently: each kind is a DataError naming file:line and the reason
(and the skip flag), or with ``--on-bad-records skip`` a counted skip while good rows flow."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from format_writers import COMPRESS
from textbatch.config import ReadConfig
from textbatch.errors import ConfigError, DataError
from textbatch.readers import BadRecords, get_reader
from textbatch.readers import lines as lines_module

SKIP_FLAG = "--on-bad-records skip"


def read(shard: Path | str, policy: str = "error", **config) -> tuple[list, BadRecords]:
    bad = BadRecords(policy)
    reader = get_reader(str(shard), ReadConfig(**config))
    return [r for _, r in reader.read(str(shard), bad)], bad


def check(shard: Path, line: int, reason: str, kind: str, good: int, **config) -> None:
    """Raises by default with ``path:line: reason`` and the skip hint; skipped and counted."""
    with pytest.raises(DataError) as info:
        read(shard, **config)
    message = str(info.value)
    assert message.startswith(f"{shard}:{line}: ")
    assert reason in message
    assert SKIP_FLAG in message
    records, bad = read(shard, "skip", **config)
    assert len(records) == good
    assert bad.counts == {kind: 1}


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_zhang_third_row_with_two_fields(tmp_path: Path) -> None:
    """The issue's acceptance case: `:3:` and the skip flag; with skip, 1 counted."""
    shard = write(tmp_path, "t.csv", '"1","a","x"\n"2","b","y"\n"1","only two"\n"2","c","z"\n')
    check(shard, 3, "expected 3 fields, got 2", "field_count", good=3)


def test_generic_csv_wrong_field_count(tmp_path: Path) -> None:
    shard = write(tmp_path, "t.csv", "label,text\npos,a\nneg,b,extra\n")
    check(shard, 3, "expected 2 fields, got 3", "field_count", good=1)


def test_undecodable_bytes_name_the_byte_offset(tmp_path: Path) -> None:
    shard = write(tmp_path, "t.jsonl", b'{"text":"ok","label":"a"}\n{"text":"\xff","label":"a"}\n')
    check(shard, 2, "invalid UTF-8 at byte offset 35", "encoding", good=1)


def test_nul_bytes(tmp_path: Path) -> None:
    shard = write(tmp_path, "t.tsv", "a\tgood\nb\tbad\x00text\n")
    check(shard, 2, "NUL byte", "nul_byte", good=1)


def test_zhang_class_out_of_range_of_classes_txt(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_text("World\nSports\n")
    shard = write(tmp_path, "t.csv", '"1","a","x"\n"3","b","y"\n')
    check(shard, 2, "class '3' is not in 1..2", "label", good=1)


def test_zhang_class_not_an_integer(tmp_path: Path) -> None:
    shard = write(tmp_path, "t.csv", '"1","a","x"\n"0","b","y"\n"","c","z"\n')
    with pytest.raises(DataError, match=r":2: class '0' is not a positive integer"):
        read(shard)
    records, bad = read(shard, "skip")
    assert [r.label for r in records] == ["0"] and bad.counts == {"label": 2}


def test_empty_text(tmp_path: Path) -> None:
    shard = write(tmp_path, "t.csv", '"1","","x"\n"2","","  "\n')
    check(shard, 2, "empty text", "empty_text", good=1)


def test_missing_label(tmp_path: Path) -> None:
    shard = write(tmp_path, "t.ft", "__label__a fine\njust text\n")
    check(shard, 2, "missing label", "missing_label", good=1)


def test_unlabelled_data_reads_as_label_none(tmp_path: Path) -> None:
    shard = write(tmp_path, "t.jsonl", '{"text":"no label here"}\n')
    reader = get_reader(str(shard), ReadConfig(), labelled=False)
    assert [r.label for _, r in reader.read(str(shard), BadRecords())] == [None]


def test_an_empty_fasttext_label_among_several_is_flagged(tmp_path: Path) -> None:
    shard = write(tmp_path, "t.ft", "__label__a one\n__label__a __label__ two\n")
    check(shard, 2, "missing label (empty __label__)", "missing_label", good=1)


def test_unparseable_json(tmp_path: Path) -> None:
    shard = write(tmp_path, "t.jsonl", '{"text":"a","label":"x"}\n{"text": oops}\n[1]\n')
    with pytest.raises(DataError, match=r":2: invalid JSON"):
        read(shard)
    records, bad = read(shard, "skip")
    assert len(records) == 1 and bad.counts == {"invalid_json": 2}


def test_missing_json_field(tmp_path: Path) -> None:
    shard = write(tmp_path, "t.jsonl", '{"text":"a","label":"x"}\n{"body":"b","label":"x"}\n')
    check(shard, 2, "field 'text' is missing", "missing_column", good=1)


def test_missing_named_column_is_a_file_level_error(tmp_path: Path) -> None:
    shard = write(tmp_path, "t.csv", "label,body\nx,hello\n")
    with pytest.raises(DataError, match=r"no column named 'text'; the header has \['label', "):
        read(shard, text_columns=("text",))
    with pytest.raises(DataError, match="cannot tell which column holds the text"):
        read(shard)


@pytest.mark.parametrize("suffix", [s for s in COMPRESS if s])
def test_truncated_compressed_file_names_the_last_good_line(tmp_path: Path, suffix: str) -> None:
    # > 900 kB so that bzip2's first block (900 kB of input) is complete before the cut.
    body = "".join(f"{i % 2} sentence number {i} " + "word " * 40 + "\n" for i in range(5000))
    whole = COMPRESS[suffix](body.encode())
    shard = write(tmp_path, f"t.txt{suffix}", whole[: len(whole) * 95 // 100])
    with pytest.raises(DataError, match=r"truncated or corrupt compressed file: it ends after "
                       r"line \d+, the last good one") as info:
        read(shard, format="label-text")
    assert str(info.value).startswith(f"{shard}:")
    records, bad = read(shard, "skip", format="label-text")
    assert 0 < len(records) < 5000 and bad.counts == {"truncated": 1}
    assert records[-1].line == info.value.line - 1


def test_not_gzip_at_all(tmp_path: Path) -> None:
    shard = write(tmp_path, "t.jsonl.gz", b"this is not gzip data\n")
    with pytest.raises(DataError, match="truncated or corrupt compressed file"):
        read(shard)


def test_overlong_line_is_reported_and_skipped(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(lines_module, "MAX_LINE_BYTES", 64)
    shard = write(tmp_path, "t.tsv", "a\tshort\nb\t" + "x" * 500 + "\nc\tafter\n")
    check(shard, 2, "line longer than 64 bytes", "line_too_long", good=2)


def test_huge_fields_are_fine(tmp_path: Path) -> None:
    """Fields over csv's default 128 KiB limit are real data (long articles)."""
    big = "word " * 60_000  # 300 KB
    shard = write(tmp_path, "t.csv", f'"1","title","{big}"\n"2","","{big}\nsecond line"\n')
    records, _ = read(shard)
    assert [len(r.text) for r in records] == [len(big) + 6, len(big) + 12]


def test_unknown_format_lists_the_known_ones(tmp_path: Path) -> None:
    shard = write(tmp_path, "t.csv", "label,text\nx,y\n")
    with pytest.raises(ConfigError, match="Unknown format 'xml'. Known formats: zhang, csv"):
        read(shard, format="xml")


def test_undetectable_format_asks_for_format(tmp_path: Path) -> None:
    shard = write(tmp_path, "data.bin", "nospacesatall\n")
    with pytest.raises(ConfigError, match="Pass --format with one of: zhang, csv"):
        read(shard)


def test_skip_counts_only_bad_rows_in_gzip(tmp_path: Path) -> None:
    shard = tmp_path / "t.csv.gz"
    shard.write_bytes(gzip.compress(b'"1","a","x"\n"1","b"\n"2","c","z"\n'))
    records, bad = read(shard, "skip")
    assert [r.text for r in records] == ["a x", "c z"] and bad.total == 1
