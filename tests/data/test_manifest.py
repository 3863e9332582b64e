"""Manifest counts, seek points and caching; TextSource blocks and splits."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from textbatch.config import ReadConfig
from textbatch.data import manifest as manifest_module
from textbatch.data.manifest import Manifest
from textbatch.data.split import bucket, val_buckets
from textbatch.data.text_source import TextSource
from textbatch.errors import ConfigError, DataError


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("TEXTBATCH_CACHE_DIR", str(path))
    return path / "manifests"


def write_zhang(path: Path, rows: list[tuple]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return path


def review_rows(n: int, classes: int = 2, start: int = 0) -> list[tuple]:
    return [(str(1 + i % classes), f"title {i}", f"review number {i} of a film") for i in
            range(start, start + n)]


@pytest.fixture
def shards(tmp_path) -> list[str]:
    return [str(write_zhang(tmp_path / "a.csv", review_rows(23))),
            str(write_zhang(tmp_path / "b.csv", review_rows(9, start=23))),
            str(write_zhang(tmp_path / "c.csv", review_rows(12, start=32)))]


def test_counts_positions_and_labels(shards):
    manifest = Manifest.build(shards, ReadConfig(), block_size=5)
    assert [s.num_records for s in manifest.shards] == [23, 9, 12]
    assert [s.num_blocks for s in manifest.shards] == [5, 2, 3]
    assert manifest.num_records() == 44 and manifest.num_blocks == 10
    assert manifest.block_sizes().tolist() == [5, 5, 5, 5, 3, 5, 4, 5, 5, 2]
    assert manifest.label_counts() == {"0": 22, "1": 22}
    assert manifest.classes.names == ("0", "1") and manifest.skipped == {}
    assert manifest.shards[0].positions[:, 1].tolist() == [1, 6, 11, 16, 21]  # 1-based lines
    assert manifest.summary()["samples_per_class"] == {"0": 22, "1": 22}


def test_split_counts_match_the_records_read(shards):
    manifest = Manifest.build(shards, ReadConfig(), block_size=5)
    for fraction in (0.0, 0.3):
        val = TextSource(manifest, "val", fraction)
        train = TextSource(manifest, "train", fraction)
        val_texts = [r.text for i in range(manifest.num_blocks) for r in val.read_block(i)]
        train_texts = [r.text for i in range(manifest.num_blocks) for r in train.read_block(i)]
        assert len(val_texts) == manifest.num_records("val", fraction) == len(val)
        assert len(train_texts) == manifest.num_records("train", fraction)
        assert not set(val_texts) & set(train_texts)
        assert len(val_texts) + len(train_texts) == 44
        assert all(bucket(t) < val_buckets(fraction) for t in val_texts)
        per_label = manifest.label_counts("val", fraction)
        assert sum(per_label.values()) == len(val_texts)


def test_words_per_record_match_the_guide_measure_and_survive_the_cache(tmp_path):
    """The manifest's histogram of ``len(text.split())`` is exact (the S/W rule's median reads
    no text) and comes back from the cache unchanged."""
    from collections import Counter

    from textbatch.explore import median_from_histogram

    rows = [("1", "", " ".join(["w"] * (i % 7 + 1)) + "\\nsecond line") for i in range(30)]
    shard = str(write_zhang(tmp_path / "w.csv", rows))
    built = Manifest.build([shard], ReadConfig(), block_size=4)
    texts = [r.text for i in range(built.num_blocks) for r in TextSource(built).read_block(i)]
    expected = Counter(len(text.split()) for text in texts)
    assert built.words_per_record == expected and sum(expected.values()) == 30
    cached = Manifest.build([shard], ReadConfig(), block_size=4)
    assert cached.words_per_record == expected
    assert median_from_histogram(cached.words_per_record) == float(np.median(
        [len(t.split()) for t in texts]))


def test_an_older_cache_entry_is_rescanned_under_the_same_key(shards, cache_dir):
    """Manifest keys do not change with the content version (a checkpoint's fingerprint holds
    them, so runs resume across an upgrade); an entry written by an older version is rescanned."""
    import json

    built = Manifest.build(shards[:1], ReadConfig(), block_size=5)
    key = built.shards[0].key
    meta = cache_dir / f"{key}.json"
    old = json.loads(meta.read_text())
    old["version"] = manifest_module.VERSION - 1  # as written before word counts
    del old["words"]
    meta.write_text(json.dumps(old))
    again = Manifest.build(shards[:1], ReadConfig(), block_size=5)
    assert again.shards[0].key == key
    assert sum(again.words_per_record.values()) == 23  # rescanned: the counts are back
    assert json.loads(meta.read_text())["version"] == manifest_module.VERSION


def test_blocks_are_read_by_seeking(shards):
    manifest = Manifest.build(shards, ReadConfig(), block_size=5)
    source = TextSource(manifest)
    records = source.read_block(3)  # fourth block of a.csv: lines 16..20
    assert [r.line for r in records] == [16, 17, 18, 19, 20]
    assert records[0].text == "title 15 review number 15 of a film"
    assert [r.line for r in source.read_block(6)] == [6, 7, 8, 9]  # b.csv's last block
    assert records[0].path.endswith("a.csv")


def test_cache_hit_skips_the_scan(shards, cache_dir, monkeypatch):
    first = Manifest.build(shards, ReadConfig(), block_size=5)
    assert len(list(cache_dir.glob("*.json"))) == 3

    def no_scan(*args, **kwargs):
        raise AssertionError("scanned although the cache was valid")

    monkeypatch.setattr(manifest_module, "scan_shard", no_scan)
    again = Manifest.build(shards, ReadConfig(), block_size=5)
    assert again.block_sizes().tolist() == first.block_sizes().tolist()
    assert np.array_equal(again.shards[0].positions, first.shards[0].positions)
    assert again.label_counts("val", 0.2) == first.label_counts("val", 0.2)
    with pytest.raises(AssertionError, match="scanned"):  # other options: another key
        Manifest.build(shards, ReadConfig(), block_size=4)


def test_changed_or_touched_file_is_rescanned(shards, cache_dir):
    Manifest.build(shards, ReadConfig(), block_size=5)
    write_zhang(Path(shards[1]), review_rows(11, start=23))  # modified: 2 more rows
    assert Manifest.build(shards, ReadConfig(), block_size=5).shards[1].num_records == 11
    stat = os.stat(shards[2])
    os.utime(shards[2], (stat.st_atime, stat.st_mtime + 10))  # touched: same bytes
    before = set(cache_dir.glob("*.json"))
    Manifest.build(shards, ReadConfig(), block_size=5)
    assert len(set(cache_dir.glob("*.json")) - before) == 1


def test_incomplete_cache_entry_is_rebuilt(shards, cache_dir):
    Manifest.build(shards[:1], ReadConfig(), block_size=5)
    (npy,) = cache_dir.glob("*.buckets.npy")
    npy.write_bytes(b"truncated")
    assert Manifest.build(shards[:1], ReadConfig(), block_size=5).num_records() == 23


def test_bad_records_error_or_are_counted(tmp_path):
    rows = review_rows(6)
    rows[2] = ("1", "only two fields")
    path = str(write_zhang(tmp_path / "bad.csv", rows))
    with pytest.raises(DataError, match=r"bad\.csv:3:.*--on-bad-records skip"):
        Manifest.build([path], ReadConfig(), block_size=4)
    manifest = Manifest.build([path], ReadConfig(on_bad_records="skip"), block_size=4)
    assert manifest.num_records() == 5 and sum(manifest.skipped.values()) == 1
    source = TextSource(manifest, read_config=ReadConfig(on_bad_records="skip"))
    assert [r.line for r in source.read_block(0)] == [1, 2, 4, 5]


def test_file_changed_after_manifest_is_a_clear_error(shards):
    manifest = Manifest.build(shards, ReadConfig(), block_size=5)
    write_zhang(Path(shards[0]), review_rows(17))
    with pytest.raises(DataError, match=r"a\.csv:16: expected 5 records.*changed after"):
        TextSource(manifest).read_block(3)  # 2 of its 5 rows are left
    with pytest.raises(DataError, match="changed since its manifest"):
        TextSource(manifest).read_block(4)  # its offset is past the new end


def test_declared_classes_and_bad_settings(tmp_path):
    (tmp_path / "classes.txt").write_text("World\nSports\nBusiness\n")
    path = str(write_zhang(tmp_path / "news.csv", review_rows(9, classes=3)))
    manifest = Manifest.build([path], ReadConfig(), block_size=4)
    assert manifest.classes.names == ("World", "Sports", "Business")
    assert manifest.label_counts() == {"World": 3, "Sports": 3, "Business": 3}
    with pytest.raises(ConfigError, match="split"):
        TextSource(manifest, "test")
    with pytest.raises(ConfigError, match="block_size"):
        Manifest.build([path], ReadConfig(), block_size=0)


def test_in_order_reads_continue_one_open_read(shards, monkeypatch):
    import textbatch.readers as readers

    calls = []
    real = readers.get_reader

    class CountingReader:  # the real reader, with its read() calls counted
        def __init__(self, shard, config):
            self.inner = real(shard, config)

        def classes(self, shard):
            return self.inner.classes(shard)

        def read(self, shard, bad, start=None):
            calls.append((Path(shard).name, start.line if start else None))
            return self.inner.read(shard, bad, start)

    monkeypatch.setattr(readers, "get_reader", CountingReader)
    manifest = Manifest.build(shards, ReadConfig(), block_size=5)
    calls.clear()
    source = TextSource(manifest)
    in_order = [r.line for i in range(manifest.num_blocks) for r in source.read_block(i)]
    assert calls == [("a.csv", 1), ("b.csv", 1), ("c.csv", 1)]  # one read per shard
    assert in_order == list(range(1, 24)) + list(range(1, 10)) + list(range(1, 13))
    assert [r.line for r in source.read_block(1)] == [6, 7, 8, 9, 10]  # a seek back
    assert [r.line for r in source.read_block(3)] == [16, 17, 18, 19, 20]  # skipping one
    assert calls[-2:] == [("a.csv", 6), ("a.csv", 16)]
    source.close()
