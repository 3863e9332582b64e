"""explore: the guide's statistics from one streaming pass."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textbatch.config import ReadConfig
from textbatch.errors import DataError
from textbatch.explore import explore, median_from_histogram, recommend_model, sw_ratio

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=200))
def test_median_from_histogram_equals_numpy(values):
    assert median_from_histogram(Counter(values)) == float(np.median(values))


def test_median_of_nothing_is_zero():
    assert median_from_histogram(Counter()) == 0.0


def test_guide_rule_picks_ngram_below_1500_and_sequence_above():
    assert sw_ratio(25_000, 174) == pytest.approx(143.678, rel=1e-4)
    assert recommend_model(25_000, 174) == "mlp"
    assert recommend_model(3_000_000, 60) == "sepcnn"  # S/W = 50,000
    assert recommend_model(1_499, 1) == "mlp" and recommend_model(1_500, 1) == "sepcnn"


def _zhang(path: Path, rows: list[tuple[int, str]]) -> Path:
    path.write_text("".join(f'"{c}","","{t}"\n' for c, t in rows), encoding="utf-8")
    return path


def test_explore_counts_classes_and_median_words(tmp_path):
    data = _zhang(tmp_path / "train.csv", [(1, "aa bb cc"), (2, "aa bb"), (2, "aa bb cc dd ee")])
    report = explore([str(data)], top_ngrams=3).to_json()
    assert report["num_samples"] == 3
    assert report["num_classes"] == 2
    assert report["samples_per_class"] == {"0": 1, "1": 2}
    assert report["median_words_per_sample"] == 3.0
    assert report["sw_ratio"] == 1.0
    assert report["recommended_model"] == "mlp"
    assert report["skipped_records"] == {}
    assert report["top_ngrams"] == [["aa", 3], ["aa bb", 3], ["bb", 3]]


def test_explore_bad_row_fails_with_line_and_skip_flag_then_skips_and_counts(tmp_path):
    data = tmp_path / "bad.csv"
    data.write_text('"1","t","one"\n"2","t","two"\n"1","three"\n"2","t","four"\n')
    with pytest.raises(DataError, match=r":3:.*--on-bad-records skip"):
        explore([str(data)])
    report = explore([str(data)], ReadConfig(on_bad_records="skip")).to_json()
    assert report["num_samples"] == 3
    assert sum(report["skipped_records"].values()) == 1


def test_explore_plots_are_pngs(tmp_path):
    from textbatch.explore_plots import write_explore_plots

    data = _zhang(tmp_path / "train.csv", [(1, "good film"), (2, "bad film"), (1, "good")])
    paths = write_explore_plots(explore([str(data)], top_ngrams=5), tmp_path / "plots")
    assert [p.name for p in paths] == ["class_distribution.png", "words_per_sample.png",
                                       "top_ngrams.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


@pytest.mark.skipif(not (DATA / "ag_news" / "test.csv").exists(), reason="../shared/data absent")
def test_explore_ag_news_uses_class_names():
    report = explore([str(DATA / "ag_news" / "test.csv")], top_ngrams=0).to_json()
    assert report["samples_per_class"] == {
        "World": 1900, "Sports": 1900, "Business": 1900, "Sci/Tech": 1900}
    assert report["median_words_per_sample"] == 37.0


def test_explore_reports_multilabel_statistics_on_goemotions_dev():
    dev = DATA / "goemotions" / "dev.tsv"
    config = ReadConfig(text_columns=(0,), label_column=1, header=False, label_separator=",")
    summary = explore([str(dev)], config, top_ngrams=0).to_json()
    rows = [line.split("\t")[1].split(",") for line in dev.read_text("utf-8").splitlines()]
    counts = Counter(label for row in rows for label in row)
    assert summary["num_samples"] == len(rows) == 5426
    assert summary["num_classes"] == 28
    assert summary["samples_per_class"] == {str(i): counts[str(i)] for i in range(28)}
    multi = summary["multi_label"]
    mean = sum(len(r) for r in rows) / len(rows)
    assert multi["label_cardinality"] == multi["labels_per_sample_mean"] == round(mean, 4)
    assert multi["labels_per_sample_max"] == max(len(r) for r in rows)
    assert multi["samples_with_several_labels"] == sum(len(r) > 1 for r in rows)
    assert multi["label_density"] == round(mean / 28, 4)


def test_single_label_explore_has_no_multilabel_section(tmp_path: Path):
    shard = tmp_path / "t.ft"
    shard.write_text("__label__a one two\n__label__b three\n")
    assert "multi_label" not in explore([str(shard)], top_ngrams=0).to_json()
