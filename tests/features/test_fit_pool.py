"""The fit and transform passes in worker processes (``textbatch.pipeline.fit_pool``): the same
vectorizer and rows as one process, equal to scikit-learn, the counting budget shared."""

from __future__ import annotations

import gzip
import itertools
import os
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.feature_selection import SelectKBest, f_classif

from feature_chunks import chunked
from textbatch.config import ReadConfig, VectorizeConfig
from textbatch.data import Manifest, TextSource
from textbatch.errors import ConfigError
from textbatch.features.cache import CacheSource
from textbatch.features.ngram import NgramVectorizer
from textbatch.pipeline import fit_pool
from textbatch.pipeline.fit_pool import (
    PartsTransform,
    spare_workers,
    transform_in_parts,
    workers_for,
)
from textbatch.pipeline.vectorize import fit_and_cache, fit_vectorizer

# the file ``imdb_sample`` (tests/features/conftest.py) reads; named here because ``from conftest
# import`` resolves to whichever conftest Python imported last
IMDB_TRAIN = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
IMDB_TRAIN = IMDB_TRAIN / "imdb" / "train.csv.gz"


@pytest.fixture
def imdb_source(tmp_path, imdb_sample):
    """The 2,000 reviews of ``imdb_sample`` as a real CSV shard: 16 blocks of 125 records."""
    path = tmp_path / "imdb2000.csv"
    with gzip.open(IMDB_TRAIN, "rb") as handle:
        path.write_bytes(b"".join(itertools.islice(handle, 2000)))
    manifest = Manifest.build([str(path)], ReadConfig(), 125)
    assert manifest.num_records() == 2000
    return TextSource(manifest), manifest.classes


@pytest.fixture
def gap_source(tmp_path, gap_corpus):
    """``gap_corpus`` as a CSV shard (Zhang's: 1-based class, title, text), 6 blocks of 100."""
    texts, labels = gap_corpus
    path = tmp_path / "gap.csv"
    path.write_text("".join(f'"{label + 1}","","{text}"\n' for text, label in zip(texts, labels)))
    manifest = Manifest.build([str(path)], ReadConfig(), 100)
    return TextSource(manifest), manifest.classes


def _fit_cache(source, labels, config, folder, workers):
    fitted = fit_and_cache(source, labels, config, folder / "cache", folder / "vectorizer",
                           {"test": workers}, block_size=256, reuse=False, spill_dir=folder,
                           workers=workers)
    return fitted.vectorizer, CacheSource(fitted.cache)


def test_two_workers_fit_and_cache_what_one_process_does(tmp_path, imdb_source):
    source, labels = imdb_source
    config = VectorizeConfig(top_k=3000)
    one, one_cache = _fit_cache(source, labels, config, tmp_path / "one", 1)
    two, two_cache = _fit_cache(source, labels, config, tmp_path / "two", 2)
    assert two.feature_names_all_ == one.feature_names_all_
    assert np.array_equal(two.document_frequency_, one.document_frequency_)
    assert np.array_equal(two.idf_, one.idf_) and two.num_documents_ == one.num_documents_ == 2000
    # class sums are added part by part (as across ranks): equal up to rounding, which F's
    # cancellation magnifies for near-zero scores (seen: 2e-8 relative at F ~ 1e-7)
    np.testing.assert_allclose(two.scores_, one.scores_, rtol=1e-7, atol=1e-12)
    assert two.selected_.tolist() == one.selected_.tolist()
    np.testing.assert_allclose(two.feature_scale_, one.feature_scale_, rtol=1e-9)
    assert len(two_cache) == len(one_cache) == 2000
    assert np.array_equal(two_cache.offsets, one_cache.offsets)
    assert np.array_equal(two_cache.ids, one_cache.ids)
    assert np.array_equal(two_cache.labels, one_cache.labels)
    np.testing.assert_allclose(two_cache.weights, one_cache.weights, rtol=1e-6)
    assert not [p for p in tmp_path.rglob("textbatch-spill-*")]  # spills removed


def test_two_workers_equal_sklearn(imdb_source, imdb_sample):
    source, labels = imdb_source
    texts, y = imdb_sample
    k = 3000
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, strip_accents="unicode",
                            decode_error="replace", sublinear_tf=True)
    x = tfidf.fit_transform(texts)
    selector = SelectKBest(f_classif, k=k).fit(x, y)
    config = VectorizeConfig(top_k=k, sublinear_tf=True, nb_scale=False)
    vectorizer = fit_vectorizer(source, labels, config, workers=2)
    assert vectorizer.feature_names_all_ == tfidf.get_feature_names_out().tolist()
    np.testing.assert_allclose(vectorizer.idf_, tfidf.idf_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(vectorizer.scores_, selector.scores_, rtol=1e-7, atol=1e-9)
    assert vectorizer.selected_.tolist() == np.flatnonzero(selector.get_support()).tolist()
    batch = vectorizer.transform(texts)
    got = np.zeros((len(texts), k))
    rows = np.repeat(np.arange(len(texts)), np.diff(batch.offsets))
    got[rows, batch.ids] = batch.weights
    assert np.abs(got - selector.transform(x).toarray()).max() < 1e-6


def test_workers_share_the_counting_budget(monkeypatch, gap_source):
    """Each worker counts under its share, so together they hold at most the budget; the
    merged fit still finds the true top features (forked workers see the patched method)."""
    source, labels = gap_source
    budgets: list[int] = []
    count_part = NgramVectorizer.count_part

    def recording(self, chunks, max_counted, token_dir):
        part = count_part(self, chunks, max_counted, token_dir)
        part["budget"], part["held"] = max_counted, len(part["keys"])
        return part

    merge = NgramVectorizer.set_vocabulary_from_parts

    def seen(self, parts):
        budgets.extend((p["budget"], p["held"]) for p in parts)
        return merge(self, parts)

    monkeypatch.setattr(NgramVectorizer, "count_part", recording)
    monkeypatch.setattr(NgramVectorizer, "set_vocabulary_from_parts", seen)
    tight = fit_vectorizer(source, labels, VectorizeConfig(top_k=5, max_counted_ngrams=2000),
                           workers=2)
    assert len(budgets) == 2 and sum(b for b, _ in budgets) <= 2000
    assert all(held <= budget for budget, held in budgets)
    assert tight.pruned_ngrams_ > 0  # the budget bit, and pass 2 re-read the text
    assert tight.get_feature_names_out() == [f"common{i}" for i in range(5, 10)]
    roomy = fit_vectorizer(source, labels, VectorizeConfig(top_k=5), workers=1)
    assert tight.top_ngrams(10) == roomy.top_ngrams(10)


def test_transform_in_parts_gives_one_process_rows_in_order(tmp_path, imdb_source):
    source, labels = imdb_source
    vectorizer = fit_vectorizer(source, labels, VectorizeConfig(top_k=500), workers=1)
    one = list(transform_in_parts(vectorizer, source, labels, 300, workers=1))
    two = list(transform_in_parts(vectorizer, source, labels, 300, workers=2,
                                  spill_dir=tmp_path))
    one, two = one[0].concat(one), two[0].concat(two)
    assert len(two) == 2000
    for name in ("ids", "offsets", "weights", "labels"):
        assert np.array_equal(getattr(two, name), getattr(one, name)), name
    assert not list(tmp_path.glob("textbatch-spill-*"))  # the workers' spills are gone


def test_parallel_fit_of_in_memory_chunks_matches_source_fit(imdb_source, imdb_sample):
    """The pipeline's two-worker fit equals the vectorizer's own one-process fit of the same
    texts (the path `textbatch.keras` and the tests use)."""
    source, labels = imdb_source
    config = VectorizeConfig(top_k=1000)
    own = NgramVectorizer(config).fit(chunked(*imdb_sample, 512))
    pooled = fit_vectorizer(source, labels, config, workers=2)
    assert pooled.feature_names_all_ == own.feature_names_all_
    assert pooled.selected_.tolist() == own.selected_.tolist()


def test_workers_for_small_sources_env_and_errors(monkeypatch):
    monkeypatch.delenv(fit_pool.WORKERS_ENV, raising=False)
    monkeypatch.setattr(fit_pool, "available_cpus", lambda: 2)
    assert workers_for(fit_pool.MIN_RECORDS_PER_WORKER - 1) == 1  # too small for a pool
    assert workers_for(10 * fit_pool.MIN_RECORDS_PER_WORKER) == 2  # no more than the CPUs
    assert workers_for(100, requested=3) == 3  # asked for: taken as given
    monkeypatch.setenv(fit_pool.WORKERS_ENV, "1")
    assert workers_for(10 * fit_pool.MIN_RECORDS_PER_WORKER) == 1
    monkeypatch.setenv(fit_pool.WORKERS_ENV, "two")
    with pytest.raises(ConfigError, match="TEXTBATCH_FIT_WORKERS='two'"):
        workers_for(100)
    with pytest.raises(ConfigError, match=">= 1"):
        workers_for(100, requested=0)


def test_a_validation_split_counts_the_records_it_reads(imdb_source):
    """The validation tenth of a file is found by reading all of it: the pool is sized by that."""
    source, _ = imdb_source
    val = TextSource(source.manifest, "val", 0.1)
    assert len(val) < 400 and fit_pool.records_read(val) == 2000
    assert fit_pool.records_read(source) == 2000


def test_spare_workers_use_only_idle_cpus(monkeypatch):
    monkeypatch.delenv(fit_pool.WORKERS_ENV, raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr(fit_pool, "available_cpus", lambda: 4)
    many = 10 * fit_pool.MIN_RECORDS_PER_WORKER
    assert spare_workers(many, busy_cpus=1) == 3  # the CPUs training leaves idle
    assert spare_workers(many, busy_cpus=4) == 0  # none idle: the pass waits for its turn
    assert spare_workers(fit_pool.MIN_RECORDS_PER_WORKER - 1, busy_cpus=1) == 0  # too small
    assert spare_workers(2 * fit_pool.MIN_RECORDS_PER_WORKER, busy_cpus=1) == 2
    monkeypatch.setenv(fit_pool.WORKERS_ENV, "2")
    assert spare_workers(100, busy_cpus=1) == 2  # asked for, within the idle CPUs
    monkeypatch.setenv(fit_pool.WORKERS_ENV, "1")  # no worker processes at all
    assert spare_workers(many, busy_cpus=1) == 0
    monkeypatch.delenv(fit_pool.WORKERS_ENV)
    monkeypatch.setenv("WORLD_SIZE", "2")  # under torchrun the ranks share the CPUs
    assert spare_workers(many, busy_cpus=1) == 0


def test_parts_transform_started_early_gives_the_same_rows(tmp_path, imdb_source):
    """Workers started before the rows are wanted (the pipeline trains meanwhile) hand back
    exactly the one-process rows; reading them to the end removes the spills."""
    source, labels = imdb_source
    vectorizer = fit_vectorizer(source, labels, VectorizeConfig(top_k=500), workers=1)
    one = list(transform_in_parts(vectorizer, source, labels, 300, workers=1))
    with PartsTransform(vectorizer, source, labels, 2, 300, spill_dir=tmp_path) as early:
        assert list(tmp_path.glob("textbatch-spill-*"))
        two = list(early.batches())
        assert not list(tmp_path.glob("textbatch-spill-*"))
    one, two = one[0].concat(one), two[0].concat(two)
    for name in ("ids", "offsets", "weights", "labels"):
        assert np.array_equal(getattr(two, name), getattr(one, name)), name
    assert not list(fit_pool._LIVE)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_parts_transform_workers_exit_once_their_parts_are_done(tmp_path, imdb_source):
    """Workers that finished (the test set, long before training ends) do not linger holding
    memory; their rows stay readable until ``close``."""
    source, labels = imdb_source
    vectorizer = fit_vectorizer(source, labels, VectorizeConfig(top_k=500), workers=1)
    with PartsTransform(vectorizer, source, labels, 2, 300, spill_dir=tmp_path) as early:
        pids = list(early._pool._processes)
        for future in early._futures:
            future.result()
        deadline = time.monotonic() + 30
        while not all(map(_dead, pids)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(map(_dead, pids))  # gone before anything was read
        rows = list(early.batches())
    assert sum(len(batch) for batch in rows) == 2000
    assert not list(tmp_path.glob("textbatch-spill-*"))
    assert not list(fit_pool._LIVE)


def _sleeping_part(*args) -> None:
    """A worker's part that would take a minute (inherited by the forked workers)."""
    time.sleep(60)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_parts_transform_left_unread_kills_its_workers(tmp_path, imdb_source, monkeypatch):
    """A run that fails while the test set is being vectorized (e.g. in training) leaves the
    ``with`` block: the busy workers die at once and the spills go."""
    source, labels = imdb_source
    vectorizer = fit_vectorizer(source, labels, VectorizeConfig(top_k=500), workers=1)
    monkeypatch.setattr(fit_pool, "_transform_part", _sleeping_part)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="training failed"):
        with PartsTransform(vectorizer, source, labels, 2, 300, spill_dir=tmp_path) as early:
            pids = list(early._pool._processes)  # both busy with a part
            raise RuntimeError("training failed")
    assert time.monotonic() - start < 30  # not the minute the parts would have taken
    assert all(map(_dead, pids))  # close() waited for them
    assert not list(tmp_path.glob("textbatch-spill-*"))
    assert not list(fit_pool._LIVE)


def test_two_workers_cache_multilabel_rows_like_one(tmp_path, monkeypatch):
    """Label rows (uint8 [n, C]) survive the workers' parts and the join."""
    monkeypatch.setenv("TEXTBATCH_CACHE_DIR", str(tmp_path / "manifests"))
    shard = tmp_path / "t.ft"
    shard.write_text("__label__a __label__b red green sky\n__label__b green blue sea\n"
                     "__label__c red blue sky\n" * 40)
    manifest = Manifest.build([str(shard)], ReadConfig(), 8)
    labels = manifest.classes.as_multilabel()
    config = VectorizeConfig(top_k=6)
    one, one_cache = _fit_cache(TextSource(manifest), labels, config, tmp_path / "one", 1)
    two, two_cache = _fit_cache(TextSource(manifest), labels, config, tmp_path / "two", 2)
    assert two.get_feature_names_out() == one.get_feature_names_out()
    assert two_cache.labels.shape == one_cache.labels.shape == (120, 3)
    assert np.array_equal(two_cache.labels, one_cache.labels)
    assert np.array_equal(two_cache.ids, one_cache.ids)
    np.testing.assert_allclose(two_cache.weights, one_cache.weights, rtol=1e-6)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_an_error_inside_a_pool_kills_its_workers_at_once() -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with fit_pool._pool(2) as pool:
            assert pool.submit(os.getpid).result() != os.getpid()
            pids = list(pool._processes)
            raise RuntimeError("boom")
    deadline = time.monotonic() + 30
    while not all(map(_dead, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(map(_dead, pids))
    assert not list(fit_pool._LIVE)


def _dead(pid: int) -> bool:
    """Gone or a zombie (the pool's own thread may reap it first, so no ``join`` here)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except (FileNotFoundError, ProcessLookupError):
        return True


def test_an_error_exit_with_a_pool_left_open_does_not_hang(run_python) -> None:
    """A pool kept open by a suspended generator (``transform_in_parts``) when the CLI exits
    with an error: its idle workers must not be waited on by multiprocessing's exit handler."""
    result = run_python(
        "from textbatch.pipeline import fit_pool\n"
        "from textbatch.cli.main import leave\n"
        "opened = fit_pool._pool(2)\n"
        "pool = opened.__enter__()\n"
        "pool.submit(int).result()\n"
        "leave(1, 'error: boom')\n")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: boom"


def test_the_fit_writes_the_validation_cache_that_cache_split_writes(tmp_path, imdb_source):
    """The fit's workers keep the validation records of the blocks they read and write their
    cache: byte for byte what ``cache_split`` writes reading the file again."""
    from textbatch.pipeline.vectorize import cache_split

    manifest, labels = imdb_source[0].manifest, imdb_source[1]
    train, val = TextSource(manifest, "train", 0.1), TextSource(manifest, "val", 0.1)
    config = VectorizeConfig(top_k=3000)
    fitted = fit_and_cache(train, labels, config, tmp_path / "cache", tmp_path / "vectorizer",
                           {"split": "train"}, block_size=125, reuse=False, workers=2,
                           other_split=(val, tmp_path / "val", {"split": "val"}))
    assert fitted.other_cache == tmp_path / "val"
    again = cache_split(fitted.vectorizer, val, labels, tmp_path / "again", {"split": "val"},
                        125, workers=2)
    assert len(CacheSource(fitted.other_cache)) == val.block_sizes.sum() > 100
    for name in ("ids.bin", "weights.bin", "offsets.bin", "labels.bin", "manifest.json"):
        assert (fitted.other_cache / name).read_bytes() == (again / name).read_bytes(), name


def test_the_validation_cache_is_left_to_cache_split_when_the_fit_cannot_write_it(
        tmp_path, imdb_source):
    manifest, labels = imdb_source[0].manifest, imdb_source[1]
    train, val = TextSource(manifest, "train", 0.1), TextSource(manifest, "val", 0.1)
    other = TextSource(manifest, "val", 0.2)  # another fraction: not the train split's rest
    config = VectorizeConfig(top_k=3000)
    for workers, split in ((1, val), (2, other), (2, TextSource(manifest))):
        fitted = fit_and_cache(train, labels, config, tmp_path / "cache", tmp_path / "vec",
                               {"k": 1}, block_size=125, reuse=False, workers=workers,
                               other_split=(split, tmp_path / "val", {"k": 2}))
        assert fitted.other_cache is None and not (tmp_path / "val").exists()
