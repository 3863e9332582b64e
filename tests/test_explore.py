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
def _distinct_words_file(path: Path, docs: int) -> Path:
    """``docs`` records of 12 words never seen elsewhere (all n-grams distinct) plus a few
    common words: the worst case for holding every n-gram."""
    rng = np.random.default_rng(0)
    with path.open("w") as handle:
        for row in range(docs):
            words = " ".join(f"w{v:x}" for v in rng.integers(0, 1 << 60, 12))
            handle.write(f"{'ab'[row % 2]}\tthe common words {words}\n")
    return path


def test_explore_memory_is_flat_in_the_number_of_distinct_ngrams(tmp_path: Path) -> None:
    """Issue 13 case 10: the top-n-grams table holds a fixed sketch, not every n-gram."""
    import tracemalloc

    peaks = []
    for docs in (2_000, 30_000):
        data = _distinct_words_file(tmp_path / f"d{docs}.tsv", docs)
        tracemalloc.start()
        report = explore([str(data)], top_ngrams=3).to_json()
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert report["top_ngrams"] == [["common", docs], ["common words", docs], ["the", docs]]
    assert peaks[1] - peaks[0] < 25 << 20, peaks  # 28k more documents, ~700k more n-grams
    assert report["top_ngrams_bound"]["memory_bytes"] < 25 << 20


def test_sketched_top_ngrams_equal_exact_document_counts(shared_file) -> None:
    """On real data (SST-2, 6.9k sentences) the sketch's top 20 are the exact ones."""
    from textbatch.readers import BadRecords, read_records
    from textbatch.text.analyzer import Analyzer
    from textbatch.text.top_ngrams import TopNgrams

    path = str(shared_file("sst2/stsa.binary.train"))
    texts = [r.text for r in read_records([path], ReadConfig(), BadRecords())]
    exact: Counter = Counter()
    analyzer = Analyzer((1, 2))
    for text in texts:
        exact.update(set(analyzer.ngrams(text)))
    counter = TopNgrams((1, 2), capacity=256)
    for start in range(0, len(texts), 1000):
        counter.update(texts[start:start + 1000])
    expected = sorted(exact.items(), key=lambda pair: (-pair[1], pair[0]))[:20]
    assert counter.most_common(20) == expected
