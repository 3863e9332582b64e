"""Label ids and the stable-hash split."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from textbatch.data.labels import LabelSet
from textbatch.data.split import bucket, in_split, split_counts, val_buckets
from textbatch.errors import ConfigError, DataError
from textbatch.readers.base import Record

TEXTS = ["a great film", "terrible acting", "", "naïve café ☕", "x" * 10_000]


def test_natural_order_is_numeric_when_all_labels_are_integers():
    assert LabelSet.from_labels(["10", "2", "1", "2"]).names == ("1", "2", "10")
    assert LabelSet.from_labels(["pos", "neg", "10"]).names == ("10", "neg", "pos")
    declared = LabelSet.from_labels(["b", "a"], declared=["World", "Sports"])
    assert declared.names == ("World", "Sports")


def test_json_round_trip_and_ids():
    labels = LabelSet(["neg", "pos"])
    again = LabelSet.from_json(labels.to_json())
    assert again == labels and again.id("pos") == 1 and len(again) == 2
    records = [Record("t", "pos", "f.csv", 1), Record("u", "neg", "f.csv", 2)]
    assert labels.encode(records).tolist() == [1, 0]
    with pytest.raises(ConfigError, match="unique"):
        LabelSet(["a", "a"])


def test_unknown_label_names_label_file_and_line():
    labels = LabelSet(["neg", "pos"])
    with pytest.raises(DataError, match=r"val\.csv:17: label 'meh' was not seen in training"):
        labels.encode([Record("t", "pos", "val.csv", 16), Record("t", "meh", "val.csv", 17)])
    with pytest.raises(DataError, match=r"val\.csv:3: record has no label"):
        labels.id(None, "val.csv", 3)


def test_bucket_is_the_same_in_another_process_with_another_hash_seed():
    ours = [bucket(t) for t in TEXTS]
    code = ("from textbatch.data.split import bucket; import json, sys; "
            "print(json.dumps([bucket(t) for t in json.loads(sys.stdin.read())]))")
    import json

    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(TEXTS), text=True,
                         capture_output=True, check=True, env={"PYTHONHASHSEED": "12345"})
    assert json.loads(out.stdout) == ours
    assert all(0 <= b < 100 for b in ours)


def test_split_is_disjoint_and_covers_everything():
    buckets = [bucket(f"review number {i}") for i in range(2_000)]
    val = [b for b in buckets if in_split(b, "val", 0.2)]
    train = [b for b in buckets if in_split(b, "train", 0.2)]
    assert len(val) + len(train) == 2_000 and 300 < len(val) < 500
    assert not set(val) & set(train)
    assert val_buckets(0.1) == 10 and val_buckets(0.0) == 0 and val_buckets(0.125) == 12
    with pytest.raises(ConfigError, match="val_fraction"):
        val_buckets(1.0)


def test_split_counts_from_histogram():
    hist = np.zeros((2, 100), np.uint32)
    hist[0, 3], hist[0, 50], hist[1, 9], hist[1, 10] = 2, 5, 1, 4
    assert split_counts(hist, "val", 0.1).tolist() == [2, 1]
    assert split_counts(hist, "train", 0.1).tolist() == [5, 4]
    assert split_counts(hist, "all", 0.1).tolist() == [7, 5]
