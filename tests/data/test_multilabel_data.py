"""Multi-label data in the data layer: indicator encoding, the task flag saved with the label
set, a label seen only in validation, and the manifest's counts of multi-label records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from textbatch.config import ReadConfig
from textbatch.data.labels import LabelSet
from textbatch.data.manifest import Manifest
from textbatch.data.text_source import TextSource
from textbatch.errors import DataError
from textbatch.readers.base import Record


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TEXTBATCH_CACHE_DIR", str(tmp_path / "cache"))


def records(*label_lists: tuple[str, ...]) -> list[Record]:
    out = []
    for i, names in enumerate(label_lists):
        out.append(Record(f"text {i}", names[0], "d.ft", i + 1,
                          tuple(names) if len(names) > 1 else None))
    return out


def test_a_multilabel_set_encodes_indicator_rows() -> None:
    labels = LabelSet(["anger", "joy", "love"], multilabel=True)
    rows = labels.encode(records(("joy", "love"), ("anger",)))
    assert rows.dtype == np.uint8
    assert rows.tolist() == [[0, 1, 1], [1, 0, 0]]


def test_the_task_travels_with_the_saved_label_set() -> None:
    multi = LabelSet(["a", "b"], multilabel=True)
    assert LabelSet.from_json(multi.to_json()) == multi
    single = LabelSet(["a", "b"])
    assert single.to_json() == '{"classes": ["a", "b"]}'  # single-label files unchanged
    assert LabelSet.from_json(single.to_json()) == single != multi


def test_a_label_seen_only_in_validation_names_file_and_line() -> None:
    labels = LabelSet(["anger", "joy"], multilabel=True)
    with pytest.raises(DataError, match=r"^d\.ft:2: label 'grief' was not seen in training"):
        labels.encode(records(("joy",), ("joy", "grief")))


def test_a_single_label_set_refuses_a_record_with_several_labels() -> None:
    with pytest.raises(DataError, match=r"^d\.ft:1: record has 2 labels \['a', 'b'\], but the "
                                        r"task is single-label.*--task multilabel"):
        LabelSet(["a", "b"]).encode(records(("a", "b")))


def test_manifest_counts_each_label_and_the_multilabel_records(tmp_path: Path) -> None:
    shard = tmp_path / "t.ft"
    shard.write_text("__label__a one\n__label__a __label__b two\n__label__c __label__a __label__b"
                     " three\n__label__b four\n")
    manifest = Manifest.build([str(shard)], ReadConfig(), block_size=2)
    assert manifest.label_counts() == {"a": 3, "b": 3, "c": 1}
    assert manifest.num_records() == 4
    assert manifest.multi_label == {"records": 2, "max_labels": 3, "path": str(shard), "line": 2}
    again = Manifest.build([str(shard)], ReadConfig(), block_size=2)  # from the cache
    assert again.multi_label == manifest.multi_label
    source = TextSource(manifest, "all")
    assert [r.label_names for r in source.read_block(1)] == [("c", "a", "b"), ("b",)]


def test_single_label_manifest_reports_no_multilabel_records(tmp_path: Path) -> None:
    shard = tmp_path / "t.ft"
    shard.write_text("__label__a one\n__label__b two\n")
    manifest = Manifest.build([str(shard)], ReadConfig(), block_size=2)
    assert manifest.multi_label == {"records": 0, "max_labels": 0, "path": None, "line": None}
