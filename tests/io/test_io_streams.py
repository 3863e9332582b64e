"""Streams: decompression by suffix, offsets into the decompressed bytes, atomic writes."""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path

import fsspec
import pytest
import zstandard

from textbatch.errors import DataError
from textbatch.io import atomic_dir, atomic_write, open_at, open_binary, open_text

DATA = "".join(f"line {i} ünï\n" for i in range(20_000)).encode()
COMPRESSORS = {
    "": lambda d: d,
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".zst": lambda d: zstandard.ZstdCompressor().compress(d),
}


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
def test_open_binary_decompresses_by_suffix(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"d.txt{suffix}"
    path.write_bytes(COMPRESSORS[suffix](DATA))
    with open_binary(str(path)) as stream:
        assert stream.read() == DATA
    with open_text(str(path)) as text:
        assert text.readline() == "line 0 ünï\n"
    for offset in (0, 1, 123_457, len(DATA)):
        with open_at(str(path), offset) as stream:
            assert stream.read() == DATA[offset:]


def test_zstd_reads_across_frames(tmp_path: Path) -> None:
    path = tmp_path / "d.zst"
    frames = [zstandard.ZstdCompressor().compress(DATA[i:i + 5000]) for i in range(0, len(DATA), 5000)]
    path.write_bytes(b"".join(frames))
    with open_binary(str(path)) as stream:
        assert stream.read() == DATA


def test_fsspec_url_with_compression() -> None:
    fsspec.filesystem("memory").pipe("/streams-test/d.txt.gz", gzip.compress(DATA))
    with open_at("memory://streams-test/d.txt.gz", 10) as stream:
        assert stream.read() == DATA[10:]


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nope.gz: no such file"):
        open_binary(str(tmp_path / "nope.gz"))


def test_atomic_write_replaces_or_keeps(tmp_path: Path) -> None:
    target = tmp_path / "out" / "a.txt"
    with atomic_write(target, "w") as handle:
        handle.write("first")
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w") as handle:
            handle.write("half of the second")
            raise RuntimeError("disk full")
    assert target.read_text() == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]  # no temp left behind
    with atomic_write(target, "wb") as handle:
        handle.write(b"second")
    assert target.read_bytes() == b"second"


def test_atomic_dir_replaces_the_whole_tree(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "old.json").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "new.json").write_text("2")
            raise RuntimeError("killed")
    assert [p.name for p in target.iterdir()] == ["old.json"]
    with atomic_dir(target) as tmp:
        (tmp / "new.json").write_text("2")
    assert [p.name for p in target.iterdir()] == ["new.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
