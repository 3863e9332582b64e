"""Inputs -> shard list: paths, globs, directories, file:// and fsspec URLs."""

from __future__ import annotations

from pathlib import Path

import fsspec
import pytest

from textbatch.errors import ConfigError
from textbatch.io import expand_shards, redact


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ["b.csv", "a.csv", "c.jsonl.gz", "classes.txt"]:
        (tmp_path / name).write_text("x")
    for label in ["pos", "neg"]:
        (tmp_path / "imdb" / label).mkdir(parents=True)
        (tmp_path / "imdb" / label / "1.txt").write_text("x")
    return tmp_path


def test_glob_is_sorted(tree: Path) -> None:
    assert expand_shards([str(tree / "*.csv")]) == [str(tree / "a.csv"), str(tree / "b.csv")]


def test_inputs_keep_their_order_and_duplicates_go(tree: Path) -> None:
    shards = expand_shards([str(tree / "b.csv"), str(tree / "*.csv")])
    assert shards == [str(tree / "b.csv"), str(tree / "a.csv")]


def test_directory_of_files_expands_to_data_files(tree: Path) -> None:
    (tree / "imdb").rename(tree.parent / f"{tree.name}-moved")
    names = [Path(s).name for s in expand_shards([str(tree)])]
    assert names == ["a.csv", "b.csv", "c.jsonl.gz"]  # classes.txt is not data


def test_directory_of_class_folders_is_one_shard(tree: Path) -> None:
    assert expand_shards([str(tree / "imdb")]) == [str(tree / "imdb")]


def test_file_url_becomes_a_path(tree: Path) -> None:
    assert expand_shards([f"file://{tree}/a.csv"]) == [str(tree / "a.csv")]


def test_missing_path_and_empty_glob_are_named(tree: Path) -> None:
    with pytest.raises(ConfigError, match="nope.csv: no such file or directory"):
        expand_shards([str(tree / "nope.csv")])
    with pytest.raises(ConfigError, match=r"\*.parquet: the pattern matches no file"):
        expand_shards([str(tree / "*.parquet")])
    with pytest.raises(ConfigError, match="No input given"):
        expand_shards([])


def test_fsspec_url_globs() -> None:
    fs = fsspec.filesystem("memory")
    for name in ["p2.csv.gz", "p1.csv.gz", "other.txt"]:
        fs.pipe(f"/shards-test/{name}", b"x")
    shards = expand_shards(["memory://shards-test/*.csv.gz"])
    assert [s.rsplit("/", 1)[1] for s in shards] == ["p1.csv.gz", "p2.csv.gz"]
    assert all(s.startswith("memory://") and fsspec.open(s).open().read() == b"x" for s in shards)
    with pytest.raises(ConfigError, match="memory://shards-test/\\*.zst: the pattern matches"):
        expand_shards(["memory://shards-test/*.zst"])


def test_redact_strips_credentials() -> None:
    assert redact("s3://KEY:SECRET@bucket/x.csv") == "s3://bucket/x.csv"
    assert redact("https://user:pw@host:8080/a?b=1") == "https://host:8080/a?b=1"
    assert redact("/local/pa@th.csv") == "/local/pa@th.csv"
