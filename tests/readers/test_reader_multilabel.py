"""Several labels per record in every format that can carry them, and the bad inputs of
multi-label data (an empty list, an empty label, a separator that is also the delimiter):
each a DataError naming file:line, or counted under ``--on-bad-records skip``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textbatch.config import ReadConfig
from textbatch.errors import ConfigError, DataError
from textbatch.readers import BadRecords, get_reader

SKIP_FLAG = "--on-bad-records skip"


def read(shard: Path, policy: str = "error", **config) -> tuple[list, BadRecords]:
    bad = BadRecords(policy)
    reader = get_reader(str(shard), ReadConfig(**config))
    return [r for _, r in reader.read(str(shard), bad)], bad


def labels_of(records: list) -> list[tuple[str, ...]]:
    return [r.label_names for r in records]


def test_fasttext_lines_keep_every_leading_label(tmp_path: Path) -> None:
    shard = tmp_path / "t.ft"
    shard.write_text("__label__joy __label__love so happy\n__label__anger grr\n"
                     "__label__joy __label__joy twice\n")
    records, _ = read(shard)
    assert labels_of(records) == [("joy", "love"), ("anger",), ("joy",)]
    assert [r.text for r in records] == ["so happy", "grr", "twice"]
    # single-label callers see what they always saw: the first label, and no list for one
    assert records[0].label == "joy" and records[1].labels is None and records[2].labels is None


def test_a_separator_joined_csv_column_splits_but_the_text_does_not(tmp_path: Path) -> None:
    shard = tmp_path / "t.csv"
    shard.write_text('text,label\n"hello, world | bye",joy|love\nplain,anger\n'
                     '"x",  joy | sadness \n')
    records, _ = read(shard, label_separator="|")
    assert labels_of(records) == [("joy", "love"), ("anger",), ("joy", "sadness")]
    assert records[0].text == "hello, world | bye"


def test_a_comma_separator_needs_a_quoted_label_field(tmp_path: Path) -> None:
    shard = tmp_path / "t.csv"
    shard.write_text('text,label\n"a, b","joy,love"\nc,joy,love\n')
    with pytest.raises(DataError) as info:
        read(shard, label_separator=",")
    message = str(info.value)
    assert message.startswith(f"{shard}:3: expected 2 fields, got 3")
    assert "must be quoted" in message and SKIP_FLAG in message
    records, bad = read(shard, "skip", label_separator=",")
    assert labels_of(records) == [("joy", "love")] and records[0].text == "a, b"
    assert bad.counts == {"field_count": 1}


def test_tsv_label_column_by_index_as_goemotions_writes_it(tmp_path: Path) -> None:
    shard = tmp_path / "t.tsv"
    shard.write_text("so good\t0,27\tid1\nmeh\t27\tid2\n")
    records, _ = read(shard, text_columns=(0,), label_column=1, header=False,
                      label_separator=",")
    assert labels_of(records) == [("0", "27"), ("27",)]


@pytest.mark.parametrize("row, reason, kind", [
    ("x,joy||love", "empty label in", "empty_label"),
    ("x,joy|", "empty label in", "empty_label"),
])
def test_an_empty_label_in_a_list_is_a_bad_record(tmp_path: Path, row, reason, kind) -> None:
    shard = tmp_path / "t.csv"
    shard.write_text(f"text,label\ny,joy\n{row}\n")
    with pytest.raises(DataError, match=rf"^{shard}:3: {reason}"):
        read(shard, label_separator="|")
    records, bad = read(shard, "skip", label_separator="|")
    assert len(records) == 1 and bad.counts == {kind: 1}


def test_jsonl_arrays_are_label_lists(tmp_path: Path) -> None:
    shard = tmp_path / "t.jsonl"
    rows = [{"text": "a", "label": ["joy", "love"]}, {"text": "b", "label": "anger"},
            {"text": "c", "label": [1, 2]}, {"text": "d", "label": []},
            {"text": "e", "label": [{"x": 1}]}]
    shard.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=rf"^{shard}:4: empty label list"):
        read(shard)
    records, bad = read(shard, "skip")
    assert labels_of(records) == [("joy", "love"), ("anger",), ("1", "2")]
    assert bad.counts == {"empty_label_list": 1, "missing_label": 1}


def test_parquet_list_columns_are_label_lists(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    shard = tmp_path / "t.parquet"
    table = pa.table({"text": ["a", "b", "c"], "label": [["joy", "love"], ["anger"], []]})
    pq.write_table(table, shard)
    with pytest.raises(DataError, match=rf"^{shard}:3: empty label list"):
        read(shard)
    records, bad = read(shard, "skip")
    assert labels_of(records) == [("joy", "love"), ("anger",)]
    assert bad.counts == {"empty_label_list": 1}


def test_unlabelled_reading_accepts_an_empty_list(tmp_path: Path) -> None:
    shard = tmp_path / "t.jsonl"
    shard.write_text('{"text": "a", "label": []}\n')
    reader = get_reader(str(shard), ReadConfig(), labelled=False)
    assert [r.label_names for _, r in reader.read(str(shard), BadRecords())] == [()]


@pytest.mark.parametrize("separator", ["", " "])
def test_a_blank_separator_is_refused(separator: str) -> None:
    with pytest.raises(ConfigError, match="label_separator must be a non-blank string"):
        ReadConfig(label_separator=separator)
