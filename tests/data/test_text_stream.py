"""BatchStream over real records: several shards, splits, workers, and the shared data sets."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest

from textbatch.config import ReadConfig
from textbatch.data import BatchLoader, BatchStream, LabelSet, Manifest, TextSource


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTBATCH_CACHE_DIR", str(tmp_path / "cache"))


def write_shard(path: Path, first: int, count: int) -> str:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerows((str(1 + i % 2), "", f"text {i}") for i in range(first, first + count))
    return str(path)


@pytest.fixture
def manifest(tmp_path) -> Manifest:
    shards = [write_shard(tmp_path / f"part{j}.csv", first, n)
              for j, (first, n) in enumerate([(0, 17), (17, 3), (20, 26)])]
    return Manifest.build(shards, ReadConfig(), block_size=4)


def keys(batches) -> list[list[tuple[str, int]]]:
    return [[(Path(r.path).name, r.line) for r in batch] for batch in batches]


@pytest.mark.parametrize("split", ["all", "train", "val"])
@pytest.mark.parametrize("num_workers", [0, 2])
def test_every_record_of_the_split_once_with_workers(manifest, split, num_workers):
    source = TextSource(manifest, split, val_fraction=0.3)
    stream = BatchStream(source, 5, seed=1, shuffle_buffer=9, epochs=2)
    got = keys(BatchLoader(stream, num_workers))
    steps = stream.steps_per_epoch
    assert len(got) == 2 * steps and steps == -(-len(source) // 5)
    expected = keys(stream.batch(e, s) for e in range(2) for s in range(steps))
    assert got == expected
    everything = {(Path(r.path).name, r.line) for i in range(manifest.num_blocks)
                  for r in source.read_block(i)}
    for epoch in range(2):
        flat = [k for batch in got[epoch * steps:(epoch + 1) * steps] for k in batch]
        assert len(flat) == len(everything) and set(flat) == everything
    assert got[:steps] != got[steps:]


def test_validation_steps_and_ranks(manifest):
    val = TextSource(manifest, "val", val_fraction=0.3)
    train = TextSource(manifest, "train", val_fraction=0.3)
    assert len(val) + len(train) == 46
    streams = [BatchStream(train, 4, seed=2, rank=r, world_size=2) for r in range(2)]
    assert streams[0].steps_per_epoch == streams[1].steps_per_epoch
    seen = [k for s in streams for step in range(s.steps_per_epoch)
            for k in keys([s.batch(0, step)])[0]]
    assert len(seen) == len(set(seen)) == len(train)
    assert BatchStream(val, 4, shuffle=False).steps_per_epoch == -(-len(val) // 4)


def test_resume_with_workers_over_records(manifest):
    make = lambda: BatchStream(TextSource(manifest), 6, seed=4, shuffle_buffer=8, epochs=1)
    loader = BatchLoader(make(), num_workers=2)
    consumed = keys(itertools.islice(iter(loader), 3))
    resumed = BatchLoader(make(), num_workers=1)
    resumed.load_state_dict(loader.state_dict())
    rest = keys(resumed)
    assert consumed + rest == keys(make())
    assert len({k for b in consumed + rest for k in b}) == 46


def test_imdb_train_counts_and_one_epoch(shared_file):
    path = str(shared_file("imdb/train.csv.gz"))
    manifest = Manifest.build([path], ReadConfig(), block_size=5_000)  # few gzip seeks
    assert manifest.num_records() == 25_000
    assert manifest.label_counts() == {"0": 12_500, "1": 12_500}
    assert manifest.classes == LabelSet(["0", "1"])
    val, train = manifest.num_records("val", 0.1), manifest.num_records("train", 0.1)
    assert val + train == 25_000 and 2_000 < val < 3_000
    stream = BatchStream(TextSource(manifest), 512, seed=0, shuffle_buffer=8192,
                         transform=lambda rs: (manifest.classes.encode(rs), [r.line for r in rs]))
    lines, labels = [], 0
    for step in range(stream.steps_per_epoch):
        ids, batch_lines = stream.batch(0, step)
        lines += batch_lines
        labels += int(ids.sum())
    assert stream.steps_per_epoch == 49
    assert sorted(lines) == list(range(1, 25_001)) and labels == 12_500


def test_ag_news_declared_classes(shared_file):
    path = str(shared_file("ag_news/test.csv"))
    manifest = Manifest.build([path], ReadConfig(), block_size=1024)
    assert manifest.num_records() == 7_600
    assert manifest.label_counts() == {"World": 1_900, "Sports": 1_900, "Business": 1_900,
                                       "Sci/Tech": 1_900}
    val = TextSource(manifest, "val", 0.1)
    records = [r for i in range(manifest.num_blocks) for r in val.read_block(i)]
    assert len(records) == manifest.num_records("val", 0.1)
    assert sum(manifest.label_counts("val", 0.1).values()) == len(records)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_data_error_in_a_worker_reaches_the_caller_intact(manifest, num_workers):
    from textbatch.errors import DataError

    stream = BatchStream(TextSource(manifest), 5, shuffle=False, epochs=1)
    write_shard(Path(manifest.shards[2].url), 0, 10)  # the file changed after the manifest
    with pytest.raises(DataError, match=r"part2\.csv.*changed") as caught:
        list(BatchLoader(stream, num_workers))
    assert caught.value.path.endswith("part2.csv")
