"""Multi-label f_classif: the max (or mean) over labels of scikit-learn's per-label f_classif,
from the same streamed statistics the vectorizer keeps (ALL group included)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.feature_selection import f_classif

from textbatch.features.multilabel import ALL, multilabel_f_classif, row_groups
from textbatch.features.selection import reduce_class_stats


def stats_of(x: np.ndarray, y: np.ndarray) -> dict:
    """Class statistics as the vectorizer accumulates them, group by group."""
    groups = list(row_groups(y))
    return {"classes": np.array([g for g, _ in groups]),
            "class_counts": np.array([m.sum() for _, m in groups]),
            "sums": np.stack([x[m].sum(axis=0) for _, m in groups]),
            "squares": np.stack([(x[m] ** 2).sum(axis=0) for _, m in groups])}


def data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random((200, 5)) < [0.5, 0.2, 0.1, 0.05, 0.0]).astype(np.uint8)  # label 4: unused
    x = rng.random((200, 30)) * (rng.random((200, 30)) < 0.3)
    x[:, 3] += y[:, 2]  # feature 3 marks rare label 2
    x[:, 7] = 0.0  # constant
    return x, y


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("reduce", ["max", "mean"])
def test_matches_scikit_learn_per_label_f_classif(seed: int, reduce: str) -> None:
    x, y = data(seed)
    with np.errstate(all="ignore"), pytest.warns(UserWarning, match="constant"):
        per_label = np.stack([f_classif(x, y[:, j])[0] for j in range(4)])
    with warnings.catch_warnings():  # column 7 is NaN for every label
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = (np.nanmax(per_label, axis=0) if reduce == "max"
                    else np.nanmean(per_label, axis=0))
    got = multilabel_f_classif(stats_of(x, y), reduce)
    np.testing.assert_allclose(np.delete(got, 7), np.delete(expected, 7), rtol=1e-9)
    assert np.isnan(got[7])
    if reduce == "max":
        assert np.nanargmax(got) == 3  # the rare label's marker wins under max


def test_rank_statistics_sum_like_single_label_ones() -> None:
    x, y = data(2)
    whole = multilabel_f_classif(stats_of(x, y))
    halves = reduce_class_stats([stats_of(x[:90], y[:90]), stats_of(x[90:], y[90:])])
    assert halves["classes"][0] == ALL
    np.testing.assert_allclose(multilabel_f_classif(halves), whole, rtol=1e-9)


def test_single_label_groups_are_the_classes() -> None:
    labels = np.array([2, 0, 2, 1])
    assert [(g, m.tolist()) for g, m in row_groups(labels)] == [
        (0, [False, True, False, False]), (1, [False, False, False, True]),
        (2, [True, False, True, False])]


def goemotions_dev(path, n: int) -> tuple[list[str], np.ndarray]:
    rows = [line.split("\t") for line in path.read_text("utf-8").splitlines()[:n]]
    y = np.zeros((len(rows), 28), np.uint8)
    for i, row in enumerate(rows):
        y[i, [int(j) for j in row[1].split(",")]] = 1
    return [row[0] for row in rows], y


def test_vectorizer_selects_by_max_of_per_label_f_classif_on_goemotions(tmp_path,
                                                                        shared_file) -> None:
    """The streamed multi-label fit equals scikit-learn: TfidfVectorizer, then the max over
    labels of f_classif, then SelectKBest's rule; its cache keeps the label rows."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from feature_chunks import chunked
    from textbatch.config import VectorizeConfig
    from textbatch.features.ngram import NgramVectorizer
    from textbatch.features.selection import select_k_best

    texts, y = goemotions_dev(shared_file("goemotions/dev.tsv"), 1500)
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, strip_accents="unicode",
                            sublinear_tf=True)
    x = tfidf.fit_transform(texts)
    present = np.flatnonzero(y.any(axis=0))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        expected = np.nanmax(np.stack([f_classif(x, y[:, j])[0] for j in present]), axis=0)
    config = VectorizeConfig(top_k=1000, nb_scale=True)  # nb_scale is ignored: not binary
    rows = list(NgramVectorizer(config).fit_transform(chunked(texts, y, 256), spill_dir=tmp_path))
    vectorizer = NgramVectorizer(config).fit(chunked(texts, y, 256))
    np.testing.assert_allclose(vectorizer.scores_, expected, rtol=1e-7, atol=1e-9)
    assert vectorizer.selected_.tolist() == select_k_best(expected, 1000).tolist()
    assert np.all(vectorizer.feature_scale_ == 1.0)
    assert np.array_equal(rows[0].concat(rows).labels, y)


def test_cache_round_trips_label_rows_and_keeps_single_label_files(tmp_path) -> None:
    import json

    from textbatch.features.batch import SparseBatch
    from textbatch.features.cache import CacheSource, write_cache

    def batch(labels: np.ndarray) -> SparseBatch:
        n = len(labels)
        return SparseBatch(np.arange(n), np.ones(n, np.float32), np.arange(n + 1), labels)

    rows = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 1]], np.uint8)
    cache = CacheSource(write_cache(tmp_path / "m", [batch(rows[:2]), batch(rows[2:])], {}, 2))
    assert cache.manifest["label_width"] == 3
    assert cache.gather([2, 0]).labels.tolist() == [[0, 0, 1], [1, 0, 1]]
    single = write_cache(tmp_path / "s", [batch(np.array([1, 0]))], {}, 2)
    manifest = json.loads((single / "manifest.json").read_text())
    assert "label_width" not in manifest and manifest["dtypes"]["labels"] == "int64"
    with pytest.raises(ValueError, match="one kind of labels"):
        write_cache(tmp_path / "x", [batch(rows[:1]), batch(np.array([1]))], {}, 2)


def test_vectorize_files_writes_label_rows_for_multilabel_data(tmp_path, monkeypatch) -> None:
    from textbatch.features.cache import CacheSource
    from textbatch.pipeline.vectorize import vectorize_files

    monkeypatch.setenv("TEXTBATCH_CACHE_DIR", str(tmp_path / "manifests"))
    shard = tmp_path / "t.ft"
    shard.write_text("__label__a __label__b red green\n__label__b green blue\n"
                     "__label__c red blue\n" * 4)
    vectorize_files([str(shard)], tmp_path / "out", block_size=4)
    cache = CacheSource(tmp_path / "out" / "cache")
    assert cache.gather([0, 1, 2]).labels.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
