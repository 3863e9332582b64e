"""The real data sets in ../shared/data read with the expected counts and labels."""

from __future__ import annotations

import tarfile
from collections import Counter
from pathlib import Path

import pytest

from textbatch.config import ReadConfig
from textbatch.io import expand_shards
from textbatch.readers import BadRecords, get_reader

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def need(relative: str) -> Path:
    path = DATA / relative
    if not path.exists():
        pytest.skip(f"{path} is absent (clone the repo with ../shared beside it)")
    return path


def label_counts(shard: Path | str, **config) -> tuple[Counter, str, list[str] | None]:
    reader = get_reader(str(shard), ReadConfig(**config))
    counts = Counter(r.label for _, r in reader.read(str(shard), BadRecords()))
    return counts, reader.name, reader.classes(str(shard))


def test_ag_news_test_split() -> None:
    counts, name, classes = label_counts(need("ag_news/test.csv"))
    assert name == "zhang"
    assert classes == ["World", "Sports", "Business", "Sci/Tech"]
    assert counts == {c: 1900 for c in classes}


def test_ag_news_first_record_joins_title_and_text() -> None:
    shard = str(need("ag_news/test.csv"))
    _, record = next(iter(get_reader(shard).read(shard, BadRecords())))
    assert record.text.startswith("Fears for T N pension after talks Unions representing")
    assert (record.label, record.line) == ("Business", 1)


def test_imdb_train_csv_gz() -> None:
    counts, name, classes = label_counts(need("imdb/train.csv.gz"))
    assert (name, classes) == ("zhang", None)
    assert counts == {"0": 12500, "1": 12500}


def test_sms_spam_is_headerless_tsv() -> None:
    counts, name, _ = label_counts(need("sms_spam/SMSSpamCollection"))
    assert name == "tsv"
    assert counts == {"ham": 4827, "spam": 747}


def test_sst2_label_text_lines() -> None:
    counts, name, _ = label_counts(need("sst2/stsa.binary.train"))
    assert name == "label-text"
    assert sum(counts.values()) == 6920 and set(counts) == {"0", "1"}


def test_aclimdb_folder_tree(tmp_path: Path) -> None:
    """A few hundred reviews of aclImdb/train/{pos,neg}, extracted without the other 50k."""
    archive = need("imdb/aclImdb_labelled.tar.gz")
    taken = Counter()
    with tarfile.open(archive) as tar:
        for member in tar:
            parts = member.name.split("/")
            if (member.isfile() and parts[1:2] == ["train"] and parts[2] in ("pos", "neg")
                    and taken[parts[2]] < 150):
                tar.extract(member, tmp_path, filter="data")
                taken[parts[2]] += 1
            if sum(taken.values()) == 300:
                break
    shards = expand_shards([str(tmp_path / "aclImdb" / "train")])
    assert shards == [str(tmp_path / "aclImdb" / "train")]
    counts, name, classes = label_counts(shards[0])
    assert (name, classes) == ("folders", ["neg", "pos"])
    assert counts == taken
    reader = get_reader(shards[0])
    records = [r for _, r in reader.read(shards[0], BadRecords())]
    assert records[0].path.endswith(".txt") and records[0].line == 1
    assert [r.label for r in records] == ["neg"] * taken["neg"] + ["pos"] * taken["pos"]
