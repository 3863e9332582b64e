"""NgramVectorizer: equal to scikit-learn on a real sample, budget-bound, mergeable, persistent."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.feature_selection import SelectKBest, f_classif

from feature_chunks import chunked
from textbatch.config import VectorizeConfig
from textbatch.errors import CheckpointError, ConfigError, TextbatchError
from textbatch.features import load_vectorizer, make_vectorizer
from textbatch.features.ngram import NgramVectorizer
from textbatch.features.selection import select_k_best


def _sklearn(texts, labels, k, sublinear_tf=False):
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, strip_accents="unicode",
                            decode_error="replace", sublinear_tf=sublinear_tf)
    x = tfidf.fit_transform(texts)
    selector = SelectKBest(f_classif, k=k).fit(x, labels)
    return tfidf, selector, selector.transform(x)


def _csr(batch, width):
    return sp.csr_matrix((batch.weights, batch.ids, batch.offsets), shape=(len(batch), width))


@pytest.mark.parametrize("sublinear_tf, num_texts", [(False, 2000), (True, 1000)])
def test_equals_sklearn_on_imdb_sample(imdb_sample, sublinear_tf, num_texts):
    texts, labels = imdb_sample[0][:num_texts], imdb_sample[1][:num_texts]
    k = 3000
    tfidf, selector, expected = _sklearn(texts, labels, k, sublinear_tf)
    config = VectorizeConfig(top_k=k, sublinear_tf=sublinear_tf, nb_scale=False)
    vectorizer = NgramVectorizer(config).fit(chunked(texts, labels, 512))
    assert vectorizer.feature_names_all_ == tfidf.get_feature_names_out().tolist()
    np.testing.assert_allclose(vectorizer.idf_, tfidf.idf_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(vectorizer.scores_, selector.scores_, rtol=1e-7, atol=1e-9)
    assert vectorizer.selected_.tolist() == np.flatnonzero(selector.get_support()).tolist()
    got = _csr(vectorizer.transform(texts), k)
    assert abs(got - expected).max() < 1e-6
    assert vectorizer.pruned_ngrams_ == 0


def test_nb_scale_multiplies_by_the_naive_bayes_log_count_ratio(imdb_sample):
    texts, labels = imdb_sample[0][:1000], imdb_sample[1][:1000]
    k = 500
    _, _, expected = _sklearn(texts, labels, k)  # plain tf-idf of the selected features
    vectorizer = NgramVectorizer(VectorizeConfig(top_k=k, sublinear_tf=False, nb_scale=True))
    vectorizer.fit(chunked(texts, labels, 256))
    p = 1 + np.asarray(expected[labels == 1].sum(axis=0)).ravel()
    q = 1 + np.asarray(expected[labels == 0].sum(axis=0)).ravel()
    ratio = np.log(p / p.sum()) - np.log(q / q.sum())
    np.testing.assert_allclose(vectorizer.feature_scale_, ratio, rtol=1e-9, atol=1e-12)
    got = _csr(vectorizer.transform(texts), k)
    assert abs(got - expected.multiply(ratio[None, :]).tocsr()).max() < 1e-5


def test_nb_scale_is_off_for_more_than_two_classes(gap_corpus):
    texts, labels = gap_corpus
    three = np.arange(len(texts)) % 3
    vectorizer = NgramVectorizer(VectorizeConfig(top_k=5, nb_scale=True))
    vectorizer.fit(chunked(texts, three, 100))
    assert vectorizer.feature_scale_.tolist() == [1.0] * 5


def test_select_k_best_ties_and_nans_follow_sklearn():
    scores = np.array([1.0, np.nan, 3.0, 3.0, 2.0, 3.0])
    selector = SelectKBest(lambda x, y: (scores, scores), k=2).fit(np.zeros((2, 6)), [0, 1])
    assert select_k_best(scores, 2).tolist() == np.flatnonzero(selector.get_support()).tolist()


def test_tiny_budget_keeps_the_true_top_features(gap_corpus):
    texts, labels = gap_corpus
    tight = NgramVectorizer(VectorizeConfig(top_k=5, max_counted_ngrams=1000))
    tight.fit(chunked(texts, labels, 100))
    roomy = NgramVectorizer(VectorizeConfig(top_k=5)).fit(chunked(texts, labels, 100))
    assert tight.pruned_ngrams_ > 0 and roomy.pruned_ngrams_ == 0
    top = [(f"common{i}", 600) for i in range(5)] + [(f"common{i}", 300) for i in range(5, 10)]
    assert tight.top_ngrams(10) == top == roomy.top_ngrams(10)
    assert tight.get_feature_names_out() == [f"common{i}" for i in range(5, 10)]
    assert roomy.get_feature_names_out() == tight.get_feature_names_out()


class _AllGather:
    """Two 'ranks' in threads exchanging statistics like torch.distributed.all_gather_object."""

    def __init__(self, world_size: int) -> None:
        self.barrier = threading.Barrier(world_size)
        self.slots: list = [None] * world_size

    def for_rank(self, rank: int):
        def gather(stats):
            self.slots[rank] = stats
            self.barrier.wait()
            gathered = list(self.slots)
            self.barrier.wait()  # everyone has read before the next pass overwrites
            return gathered
        return gather


def test_two_ranks_merged_equal_one_fit(imdb_sample):
    texts, labels = imdb_sample
    config = VectorizeConfig(top_k=2000)
    single = NgramVectorizer(config).fit(chunked(texts, labels, 500))
    halves = [(texts[:1000], labels[:1000]), (texts[1000:], labels[1000:])]
    gather, fitted = _AllGather(2), [NgramVectorizer(config), NgramVectorizer(config)]
    threads = [threading.Thread(target=fitted[r].fit,
                                args=(chunked(*halves[r], 500), gather.for_rank(r)))
               for r in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for rank in fitted:
        assert rank.feature_names_all_ == single.feature_names_all_
        np.testing.assert_allclose(rank.scores_, single.scores_, rtol=1e-7, atol=1e-9)
        assert rank.selected_.tolist() == single.selected_.tolist()


def test_save_load_round_trip(tmp_path, imdb_sample):
    texts, labels = imdb_sample
    config = VectorizeConfig(top_k=500)
    fitted = make_vectorizer(config).fit(chunked(texts[:400], labels[:400], 100))
    fitted.save(tmp_path)
    loaded = load_vectorizer(tmp_path, config)
    before, after = fitted.transform(texts[400:450]), loaded.transform(texts[400:450])
    assert np.array_equal(before.ids, after.ids) and np.array_equal(before.offsets, after.offsets)
    assert np.array_equal(before.weights, after.weights)
    assert loaded.num_features == 500


def test_load_refuses_other_settings_and_damaged_files(tmp_path, gap_corpus):
    texts, labels = gap_corpus
    NgramVectorizer(VectorizeConfig(top_k=5)).fit(chunked(texts, labels, 300)).save(tmp_path)
    with pytest.raises(ConfigError, match="vectorizer.json: fitted with other settings"):
        load_vectorizer(tmp_path, VectorizeConfig(top_k=6))
    idf = tmp_path / "idf.npy"
    idf.write_bytes(idf.read_bytes()[:40])  # truncated
    with pytest.raises(CheckpointError, match="idf.npy"):
        load_vectorizer(tmp_path)
    (tmp_path / "vectorizer.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="vectorizer.json: corrupt"):
        load_vectorizer(tmp_path)


def test_output_is_sparse_and_in_range(gap_corpus):
    texts, labels = gap_corpus
    vectorizer = NgramVectorizer(VectorizeConfig(top_k=7)).fit(chunked(texts, labels, 200))
    batch = vectorizer.transform(texts[:10] + ["nothing known here"])
    assert batch.weights.dtype == np.float32 and len(batch) == 11
    assert batch.ids.min() >= 0 and batch.ids.max() < vectorizer.num_features
    assert batch.offsets[-1] - batch.offsets[-2] == 0  # an unknown text is an empty row


def test_trigrams_are_refused_with_a_clear_message():
    with pytest.raises(ConfigError, match="up to 2"):
        NgramVectorizer(VectorizeConfig(ngram_range=(1, 3)))


def test_fit_transform_equals_fit_then_transform(tmp_path, imdb_sample):
    texts, labels = imdb_sample[0][:600], imdb_sample[1][:600]
    config = VectorizeConfig(top_k=800)
    streamed = list(NgramVectorizer(config).fit_transform(chunked(texts, labels, 128),
                                                          spill_dir=tmp_path, chunk_size=100))
    assert [len(b) for b in streamed] == [100] * 6 and list(tmp_path.iterdir()) == []
    fitted = NgramVectorizer(config).fit(chunked(texts, labels, 128))
    whole, direct = streamed[0].concat(streamed), fitted.transform(texts)
    assert np.array_equal(whole.ids, direct.ids) and np.array_equal(whole.offsets, direct.offsets)
    assert np.array_equal(whole.weights, direct.weights)
    assert whole.labels.tolist() == labels.tolist()


def test_counter_most_common_for_explore():
    from textbatch.features.counting import NgramCounter

    counter = NgramCounter()
    counter.update(["the cat, the hat", "The cat"])
    assert counter.most_common(3) == [("cat", 2), ("the", 2), ("the cat", 2)]


@pytest.mark.parametrize("largest_id, rows", [(5_000, 999), (2**24, 999), (5_000, 70_000)])
def test_sort_by_key_is_a_stable_sort_by_key(largest_id, rows):
    """The packed SIMD sort and its argsort fallback (ids >= 2**23 or rows >= 2**16) both give
    what a stable argsort by key gives on ``ngram_keys`` output (issue 12)."""
    from textbatch.features.counting import ngram_keys, sort_by_key

    rng = np.random.default_rng(1)
    ids = rng.integers(-1, largest_id, 200_000)
    offsets = np.sort(np.concatenate(([0, 200_000], rng.integers(0, 200_000, rows))))
    keys, row_ids = ngram_keys(ids, offsets, (1, 2))
    order = np.argsort(keys, kind="stable")
    got_keys, got_rows = sort_by_key(keys, row_ids)
    assert np.array_equal(got_keys, keys[order]) and np.array_equal(got_rows, row_ids[order])


@pytest.mark.parametrize("ngram_range, empty_rows", [((1, 2), 68_000), ((1, 1), 0), ((2, 2), 0)])
def test_tfidf_rows_equal_sklearns_for_each_ngram_range_and_wide_packing(
        imdb_sample, ngram_range, empty_rows):
    """Full-vocabulary tf-idf rows equal scikit-learn's, columns ascending in each row. 68,000
    empty texts before the reviews push the row numbers past 16 bits, so (row, column) pairs no
    longer fit 32 bits and the 64-bit packing runs."""
    texts = [""] * empty_rows + imdb_sample[0][:2000]
    labels = np.zeros(len(texts), np.int64)
    labels[-1000:] = 1
    reference = TfidfVectorizer(ngram_range=ngram_range, min_df=2, strip_accents="unicode",
                                sublinear_tf=True)
    expected = reference.fit_transform(texts).tocsr()
    expected.sort_indices()
    vectorizer = NgramVectorizer(VectorizeConfig(ngram_range=ngram_range)).fit(
        chunked(texts, labels, 4096))
    assert vectorizer.feature_names_all_ == reference.get_feature_names_out().tolist()
    if empty_rows:
        row_bits = (len(texts) - 1).bit_length()
        assert row_bits + (len(vectorizer.idf_) - 1).bit_length() > 32  # the wide branch
    rows, cols, values = vectorizer._tfidf(texts)
    got = sp.csr_matrix((values, cols, np.searchsorted(rows, np.arange(len(texts) + 1))),
                        shape=expected.shape)
    assert np.array_equal(got.indptr, expected.indptr)
    assert np.array_equal(got.indices, expected.indices)  # ascending inside each row
    np.testing.assert_allclose(got.data, expected.data, rtol=0, atol=1e-12)


def test_chunks_without_a_known_ngram_give_empty_rows(imdb_sample):
    texts, labels = imdb_sample[0][:300], imdb_sample[1][:300]
    vectorizer = NgramVectorizer(VectorizeConfig(top_k=500)).fit(chunked(texts, labels, 128))
    for batch in (vectorizer.transform([]), vectorizer.transform(["", "qqqxv zzzqw"])):
        assert len(batch.ids) == 0 and batch.offsets.tolist() == [0] * (len(batch) + 1)
    # a fit whose last chunk holds only unknown words (the chunk's rows are all empty)
    more = texts + ["uniquexyzword"]
    fitted = NgramVectorizer(VectorizeConfig(top_k=500)).fit(
        chunked(more, np.append(labels, 1), 300))
    assert fitted.transform(["uniquexyzword"]).offsets.tolist() == [0, 0]
    with pytest.raises(TextbatchError, match="Empty vocabulary"):  # not an IndexError
        NgramVectorizer().fit(chunked(["", " "], np.array([0, 1]), 2))
