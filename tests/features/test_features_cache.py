"""The vectorize-once cache: round trip, gather, invalidation, damage."""

from __future__ import annotations

import numpy as np
import pytest

from textbatch.errors import CheckpointError
from textbatch.features.batch import SparseBatch
from textbatch.features.cache import CacheSource, open_cache, write_cache

KEY = {"data": ["train.csv", 123, "abc"], "vectorizer": {"kind": "ngram", "top_k": 5}}


def _batches(num_batches=3, rows=7, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(num_batches):
        lengths = rng.integers(0, 5, rows)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        out.append(SparseBatch(rng.integers(0, 100, offsets[-1]),
                               rng.random(offsets[-1]).astype(np.float32), offsets,
                               rng.integers(0, 3, rows)))
    return out


def test_round_trip_and_gather_any_order(tmp_path):
    parts = _batches()
    write_cache(tmp_path / "cache", iter(parts), KEY, block_size=4)
    source = open_cache(tmp_path / "cache", KEY)
    assert source is not None and len(source) == 21
    assert source.block_sizes.tolist() == [4, 4, 4, 4, 4, 1]
    assert np.concatenate([source.read_block(i) for i in range(6)]).tolist() == list(range(21))
    whole = SparseBatch.concat(parts)
    rows = np.array([20, 3, 3, 0, 11])
    got = source.gather(rows)
    for position, row in enumerate(rows):
        expect = slice(whole.offsets[row], whole.offsets[row + 1])
        mine = slice(got.offsets[position], got.offsets[position + 1])
        assert got.ids[mine].tolist() == whole.ids[expect].tolist()
        assert got.weights[mine].tolist() == whole.weights[expect].tolist()
    assert got.labels.tolist() == whole.labels[rows].tolist()
    assert got.ids.dtype == np.int64 and got.weights.dtype == np.float32


def test_stale_or_missing_cache_is_none(tmp_path):
    assert open_cache(tmp_path / "nothing", KEY) is None
    write_cache(tmp_path / "cache", iter(_batches()), KEY)
    stale = {**KEY, "vectorizer": {"kind": "ngram", "top_k": 6}}
    assert open_cache(tmp_path / "cache", stale) is None
    assert open_cache(tmp_path / "cache", KEY) is not None


def test_rewrite_replaces_and_leaves_no_temp(tmp_path):
    write_cache(tmp_path / "cache", iter(_batches(seed=1)), KEY)
    write_cache(tmp_path / "cache", iter(_batches(num_batches=1)), KEY)
    assert len(CacheSource(tmp_path / "cache")) == 7
    assert [p.name for p in tmp_path.iterdir()] == ["cache"]


def test_failed_write_leaves_nothing(tmp_path):
    def broken():
        yield _batches(num_batches=1)[0]
        raise RuntimeError("reader failed")
    with pytest.raises(RuntimeError):
        write_cache(tmp_path / "cache", broken(), KEY)
    assert list(tmp_path.iterdir()) == []


def test_truncated_file_is_a_clear_error(tmp_path):
    write_cache(tmp_path / "cache", iter(_batches()), KEY)
    ids = tmp_path / "cache" / "ids.bin"
    ids.write_bytes(ids.read_bytes()[:-4])
    with pytest.raises(CheckpointError, match="ids.bin: .* bytes, expected"):
        CacheSource(tmp_path / "cache")
    assert open_cache(tmp_path / "cache", KEY) is None  # damaged: rebuild


def test_pickles_as_a_path_for_workers(tmp_path):
    import pickle

    write_cache(tmp_path / "cache", iter(_batches()), KEY)
    source = CacheSource(tmp_path / "cache")
    payload = pickle.dumps(source)
    assert len(payload) < 2000  # no array data inside
    clone = pickle.loads(payload)
    assert clone.gather([5, 1]).ids.tolist() == source.gather([5, 1]).ids.tolist()


def test_released_pages_read_back_the_same_rows(tmp_path, monkeypatch):
    """Dropping the mapped pages (so a full pass does not stay resident) never changes data."""
    import textbatch.features.cache as cache_module

    monkeypatch.setattr(cache_module, "RELEASE_EVERY_BYTES", 16)  # release after every gather
    parts = _batches(num_batches=4, rows=50)
    write_cache(tmp_path / "cache", iter(parts), KEY, block_size=8)
    source = CacheSource(tmp_path / "cache")
    streamed = SparseBatch.concat(list(source.iter_chunks(13)))
    whole = SparseBatch.concat(parts)
    assert streamed.ids.tolist() == whole.ids.tolist()
    assert streamed.weights.tolist() == whole.weights.tolist()
    assert streamed.offsets.tolist() == whole.offsets.tolist()
    source.release()
    assert source.gather(np.array([199, 0])).labels.tolist() == whole.labels[[199, 0]].tolist()


def test_caches_are_fsynced_and_spills_are_not(tmp_path, monkeypatch):
    """A cache outlives its run (reused on resume): its files reach the disk before its
    manifest. A spill is deleted with its run: no fsync (each costs milliseconds)."""
    from textbatch.features import cache as cache_module
    from textbatch.features.cache import CacheWriter

    synced = []
    monkeypatch.setattr(cache_module.os, "fsync", synced.append)
    with CacheWriter(tmp_path / "spill", durable=False) as spill:
        for batch in _batches():
            spill.append(batch)
        spill.finish({})
    assert synced == []
    assert len(CacheSource(tmp_path / "spill")) == 21
    write_cache(tmp_path / "cache", _batches(), {"k": 1})
    assert len(synced) == 4  # ids, weights, offsets, labels
