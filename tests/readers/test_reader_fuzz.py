"""Hostile input (issue 5): random bytes, broken quoting, NUL bytes, mixed encodings, truncated
gzip, huge fields, empty files and directories. Every reader either yields records, counts
skips, or raises a DataError that names the file; never another exception, never a hang."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textbatch.config import ReadConfig
from textbatch.errors import SKIP_HINT, DataError
from textbatch.readers import BadRecords, get_reader

SUFFIX = {"zhang": ".csv", "csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl", "fasttext": ".ft",
          "label-text": ".txt", "parquet": ".parquet"}
PIECES = [b'"', b'""', b",", b"\n", b"\r\n", b"\r", b"\t", b"\x00", b"\xff", b"\xc3", b"\\n",
          b"__label__", b"__label__a ", b"1", b"2", b"0 ", b"{", b"}", b'{"text": "a", "label": 1}',
          b" ", b"text", b"label", "é".encode("latin-1"), "é".encode(), "文".encode("utf-16")]
HOSTILE = st.one_of(
    st.binary(max_size=600),
    st.lists(st.sampled_from(PIECES), max_size=60).map(b"".join),
)


def read_everything(shard: str, fmt: str, policy: str) -> None:
    """Read ``shard`` to the end; only a DataError naming the shard may escape."""
    bad = BadRecords(policy)
    try:
        reader = get_reader(shard, ReadConfig(format=fmt))
        records = [record for _, record in reader.read(shard, bad)]
    except DataError as exc:
        assert exc.path.startswith(shard)
        assert str(exc).startswith(shard)
        # skipping was asked for: only whole-file problems (no skip hint) may still stop the read
        assert policy == "error" or exc.hint != SKIP_HINT, str(exc)
        return
    for record in records:
        assert record.text and not record.text.isspace() and "\x00" not in record.text
        assert record.line >= 1


def fuzz_file(fmt: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"data{SUFFIX[fmt]}"
        path.write_bytes(data)
        for policy in ("error", "skip"):
            read_everything(str(path), fmt, policy)


FUZZ = settings(max_examples=50, deadline=None)


@pytest.mark.parametrize("fmt", list(SUFFIX))
@FUZZ
@given(data=HOSTILE)
def test_hostile_bytes(fmt: str, data: bytes) -> None:
    fuzz_file(fmt, data)


@pytest.mark.parametrize("fmt", ["zhang", "tsv", "jsonl", "label-text"])
@settings(max_examples=25, deadline=None)
@given(data=HOSTILE, cut=st.integers(1, 200))
def test_hostile_and_truncated_gzip(fmt: str, data: bytes, cut: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"data{SUFFIX[fmt]}.gz"
        whole = gzip.compress(data)
        path.write_bytes(whole[: max(len(whole) - cut, 0)])
        for policy in ("error", "skip"):
            read_everything(str(path), fmt, policy)


@settings(max_examples=25, deadline=None)
@given(files=st.lists(st.tuples(st.sampled_from(["pos", "neg"]), HOSTILE), max_size=6))
def test_hostile_folder_tree(files: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tree"
        root.mkdir()
        for index, (label, data) in enumerate(files):
            (root / label).mkdir(exist_ok=True)
            (root / label / f"{index}.txt").write_bytes(data)
        for policy in ("error", "skip"):
            read_everything(str(root), "folders", policy)


@pytest.mark.parametrize("fmt", list(SUFFIX))
def test_empty_file(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"empty{SUFFIX[fmt]}"
    path.write_bytes(b"")
    read_everything(str(path), fmt, "error")


def test_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no class subfolder"):
        list(get_reader(str(tmp_path), ReadConfig()).read(str(tmp_path), BadRecords()))


@pytest.mark.parametrize("fmt", ["zhang", "csv", "tsv", "jsonl", "fasttext", "label-text"])
def test_huge_field_and_unclosed_quote(tmp_path: Path, fmt: str) -> None:
    """A 300 kB field, then an opening quote that never closes (it swallows the rest)."""
    huge = b"w " * 150_000
    path = tmp_path / f"huge{SUFFIX[fmt]}"
    path.write_bytes(b'"1","t","' + huge + b'"\n"2","' + huge + b"\nmore\n" * 50)
    for policy in ("error", "skip"):
        read_everything(str(path), fmt, policy)


@pytest.mark.parametrize("fmt", ["zhang", "tsv", "jsonl", "label-text"])
def test_truncated_gzip_is_counted_when_skipping(tmp_path: Path, fmt: str) -> None:
    rows = {"zhang": b'"1","t","good text"\n', "tsv": b"ham\tgood text\n",
            "jsonl": b'{"text": "good text", "label": "a"}\n', "label-text": b"1 good text\n"}
    whole = gzip.compress(rows[fmt] * 5_000)
    path = tmp_path / f"cut{SUFFIX[fmt]}.gz"
    path.write_bytes(whole[: len(whole) // 2])
    bad = BadRecords("skip")
    records = list(get_reader(str(path), ReadConfig(format=fmt)).read(str(path), bad))
    assert records and bad.counts["truncated"] == 1
    with pytest.raises(DataError, match="truncated|ended early|compressed"):
        list(get_reader(str(path), ReadConfig(format=fmt)).read(str(path), BadRecords("error")))
