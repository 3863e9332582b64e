"""Issue 13, cases 1 and 2: an unclosed quote never swallows records silently, and byte-order
marks never leak into a header, a JSON line or a label."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from textbatch.config import ReadConfig
from textbatch.errors import DataError
from textbatch.readers import BadRecords, get_reader
from textbatch.readers.csv_rows import MAX_QUOTED_NEWLINES


def read(path: Path, policy: str = "error", **config) -> tuple[list, BadRecords]:
    bad = BadRecords(policy)
    reader = get_reader(str(path), ReadConfig(**config))
    return [record for _, record in reader.read(str(path), bad)], bad


def csv_file(tmp_path: Path, rows: list[str], name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text("label,text\n" + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


ROWS = [f"{'ham' if i % 2 else 'spam'},text number {i}" for i in range(400)]


def test_unclosed_quote_is_an_error_naming_the_line_it_opened(tmp_path: Path) -> None:
    rows = list(ROWS)
    rows[50] = 'ham,"this quote never closes'
    path = csv_file(tmp_path, rows)
    with pytest.raises(DataError, match=r"data\.csv:52: a quoted field opened on this line"):
        read(path)


def test_unclosed_quote_is_counted_and_the_rest_is_read(tmp_path: Path) -> None:
    rows = list(ROWS)
    rows[50] = 'ham,"this quote never closes'
    records, bad = read(csv_file(tmp_path, rows), "skip")
    assert bad.counts == {"unclosed_quote": 1}
    assert [r.text for r in records] == [row.split(",", 1)[1] for row in ROWS if row != ROWS[50]]


def test_unclosed_quote_at_the_end_of_the_file(tmp_path: Path) -> None:
    rows = [*ROWS[:10], 'ham,"open', "spam,swallowed"]
    with pytest.raises(DataError, match=r":12: a quoted field .* never closed"):
        read(csv_file(tmp_path, rows))
    records, bad = read(csv_file(tmp_path, rows), "skip")
    assert bad.counts == {"unclosed_quote": 1} and records[-1].text == "swallowed"


def test_a_quote_closed_by_accident_far_below_is_caught(tmp_path: Path) -> None:
    """The field count is right (2), but the quoted field crosses 100 lines."""
    rows = list(ROWS[:200])
    rows[10] = 'ham,"stray quote'
    rows[110] = 'spam,he said "hi'
    path = csv_file(tmp_path, rows)
    with pytest.raises(DataError, match=r":12: .*more than 32 lines.*--allow-multiline"):
        read(path)
    records, _ = read(path, allow_multiline=True)
    assert len(records) == 200 - 100 and "\n" in records[10].text


def test_real_multiline_fields_within_the_limit_are_read(tmp_path: Path) -> None:
    text = "\n".join(f"paragraph {i}" for i in range(MAX_QUOTED_NEWLINES + 1))
    path = csv_file(tmp_path, [f'ham,"{text}"', "spam,next"])
    records, bad = read(path)
    assert [r.text for r in records] == [text, "next"] and [r.line for r in records] == [2, 35]


def test_zhang_unclosed_quote(tmp_path: Path) -> None:
    rows = [f'"1","title","text {i}"\n' for i in range(100)]
    path = tmp_path / "train.csv"
    path.write_text("".join(rows[:20]) + '"2","t","open\n' + "".join(rows[20:]), encoding="utf-8")
    with pytest.raises(DataError, match=r"train\.csv:21: a quoted field"):
        read(path, format="zhang")
    records, bad = read(path, "skip", format="zhang")
    assert len(records) == 100 and bad.counts == {"unclosed_quote": 1}


BOM = codecs.BOM_UTF8
BOM_FILES = {
    "data.csv": b"label,text\nham,hello there\nspam,buy now\n",
    "data.tsv": b"ham\thello there\nspam\tbuy now\n",
    "data.jsonl": b'{"text": "hello there", "label": "ham"}\n{"text": "buy now", "label": "spam"}\n',
    "data.ft": b"__label__ham hello there\n__label__spam buy now\n",
    "data.txt": b"ham hello there\nspam buy now\n",
}


@pytest.mark.parametrize("name", list(BOM_FILES))
def test_a_utf8_bom_is_dropped_in_every_format(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(BOM + BOM_FILES[name])
    records, _ = read(path)
    assert [(r.text, r.label) for r in records] == [("hello there", "ham"), ("buy now", "spam")]


def test_a_utf8_bom_in_zhang_folders_and_classes(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_bytes(BOM + b"World\nSports\n")
    (tmp_path / "train.csv").write_bytes(BOM + b'"2","title","body"\n"1","t","x"\n')
    records, _ = read(tmp_path / "train.csv")
    assert [(r.text, r.label) for r in records] == [("title body", "Sports"), ("t x", "World")]
    (tmp_path / "tree" / "pos").mkdir(parents=True)
    (tmp_path / "tree" / "pos" / "a.txt").write_bytes(BOM + b"good film")
    records, _ = read(tmp_path / "tree")
    assert [r.text for r in records] == ["good film"]


@pytest.mark.parametrize("name", list(BOM_FILES))
def test_a_utf16_bom_is_a_clear_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(BOM_FILES[name].decode().encode("utf-16"))
    for policy in ("error", "skip"):
        with pytest.raises(DataError, match=rf"{name}:1: the file starts with a UTF-16.*iconv"):
            read(path, policy, format={"data.txt": "label-text"}.get(name))
