"""Issue 13: random records in every format (quotes, BOMs, NULs, CR/LF mixes, huge fields) are
either read exactly as written, with their line, or reported with their file:line: never
dropped or changed silently.

Each format gets the texts it can express (a TSV field cannot hold a tab or a newline, a
fastText body cannot start with white space, a Zhang text cannot hold a backslash escape);
everything else, NUL bytes included, is fair game.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.readers.format_writers import write_folders, write_parquet
from textbatch.config import ReadConfig
from textbatch.errors import DataError
from textbatch.readers import BadRecords, get_reader

BOM = "\ufeff"
CHARS = list('ab ,"\'\t\r\n\x00\\é文_') + [BOM, "\u2028", "__label__"]
HUGE = "w" * 200_000
TEXT = st.one_of(st.lists(st.sampled_from(CHARS), max_size=25).map("".join),
                 st.sampled_from([HUGE, f'"{HUGE}\n{HUGE}"', "x\r\n" * 40]))
LABEL = st.sampled_from(["ham", "spam", "1", "x_y"])
RECORDS = st.lists(st.tuples(TEXT, LABEL, st.sampled_from(["\n", "\r\n"])), min_size=1,
                   max_size=8)
EXPRESSIBLE = {
    "csv": lambda t: True,
    "jsonl": lambda t: True,
    "parquet": lambda t: True,
    "tsv": lambda t: not re.search(r"[\t\n]|\r$", t),
    "label-text": lambda t: "\n" not in t and not t.endswith("\r"),
    # a leading __label__ token is a label in fastText's own format, never text
    "fasttext": lambda t: "\n" not in t and not t.endswith("\r") and not re.match(r"\s", t)
    and not t.startswith("__label__"),
    "zhang": lambda t: "\\" not in t and "\n" not in t,
    "folders": lambda t: not t.startswith(BOM),
}


def _csv_row(fields: list[str], end: str) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator=end).writerow(fields)
    return buffer.getvalue()


SERIALIZE = {
    "csv": lambda t, lb, end: _csv_row([lb, t], end),
    "zhang": lambda t, lb, end: _csv_row([str(LABELS.index(lb) + 1), "", t], end),
    "jsonl": lambda t, lb, end: json.dumps({"text": t, "label": lb}, ensure_ascii=False) + end,
    "tsv": lambda t, lb, end: f"{lb}\t{t}{end}",
    "label-text": lambda t, lb, end: f"{lb} {t}{end}",
    "fasttext": lambda t, lb, end: f"__label__{lb} {t}{end}",
}
LABELS = ["ham", "spam", "1", "x_y"]
SUFFIX = {"csv": ".csv", "zhang": ".csv", "jsonl": ".jsonl", "tsv": ".tsv", "label-text": ".txt",
          "fasttext": ".ft"}


def write_lines(folder: Path, fmt: str, records: list, bom: bool) -> tuple[str, list]:
    """The file, and (text, label, first line, last line) of every record written."""
    out = [BOM] if bom else []
    line, expected = 1, []
    if fmt == "csv":
        out.append(_csv_row(["label", "text"], "\n"))
        line = 2
    for text, label, end in records:
        piece = SERIALIZE[fmt](text, label, end)
        expected.append((text, label, line, line + piece.count("\n") - 1))
        out.append(piece)
        line += piece.count("\n")
    if fmt == "zhang":
        (folder / "classes.txt").write_text("\n".join(LABELS) + "\n")
    path = folder / f"data{SUFFIX[fmt]}"
    path.write_bytes("".join(out).encode("utf-8", errors="surrogatepass"))
    return str(path), expected


def write_other(folder: Path, fmt: str, records: list) -> tuple[str, list]:
    pairs = [(text, label) for text, label, _ in records]
    shard, ordered = (write_parquet if fmt == "parquet" else write_folders)(folder, pairs)
    return shard, [(text, label, i + 1 if fmt == "parquet" else 1, None)
                   for i, (text, label) in enumerate(ordered)]


def check(shard: str, fmt: str, expected: list) -> None:
    config = ReadConfig(format=fmt, allow_multiline=True)
    folders = fmt == "folders"

    def key(record) -> tuple:
        return (record.text, record.label) + (() if folders else (record.line,))

    wanted = [(t, lb) + (() if folders else (first,)) for t, lb, first, _ in expected]
    read: list = []  # error policy: an exact prefix, then a DataError inside the next record
    try:
        for _, record in get_reader(shard, config).read(shard, BadRecords("error")):
            read.append(key(record))
    except DataError as exc:
        assert exc.path.startswith(shard)
        assert read == wanted[: len(read)], (read, wanted)
        _, _, first, last = expected[len(read)]
        assert folders or first <= exc.line <= (last or first), (exc.line, first, last, str(exc))
    else:
        assert read == wanted
    bad = BadRecords("skip")  # skip policy: an exact subsequence, every gap counted
    got = [key(r) for _, r in get_reader(shard, config).read(shard, bad)]
    remaining = iter(wanted)
    assert all(item in remaining for item in got), (got, wanted)
    assert len(wanted) - len(got) <= bad.total, (bad.counts, got, wanted)


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.data_too_large])


def _fuzz(fmt: str, records: list, bom: bool) -> None:
    records = [(t, lb, end) for t, lb, end in records if EXPRESSIBLE[fmt](t)]
    if not records:
        return
    with tempfile.TemporaryDirectory() as tmp:
        if fmt in SERIALIZE:
            shard, expected = write_lines(Path(tmp), fmt, records, bom)
        else:
            shard, expected = write_other(Path(tmp), fmt, records)
        check(shard, fmt, expected)


@pytest.mark.parametrize("fmt", list(EXPRESSIBLE))
@FUZZ
@given(records=RECORDS, bom=st.booleans())
def test_every_record_is_read_exactly_or_reported(fmt: str, records: list, bom: bool) -> None:
    _fuzz(fmt, records, bom)
