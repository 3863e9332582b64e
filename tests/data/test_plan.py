"""The epoch plan and batch stream over an in-memory BlockSource: exact epochs, ranks, order."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textbatch.data.plan import advance, make_plan, rank_slice, steps_per_epoch
from textbatch.data.stream import BatchStream
from textbatch.errors import CheckpointError, ConfigError

from blocksources import ListSource

SIZES = {
    "one block": [7],
    "uneven": [5, 0, 13, 1, 8, 8, 2],
    "many": [4] * 25 + [3],
}


def epoch_batches(stream: BatchStream, epoch: int) -> list[list[int]]:
    return [list(stream.batch(epoch, s)) for s in range(stream.steps_per_epoch)]


@pytest.mark.parametrize("sizes", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("world_size", [1, 2, 3])
@pytest.mark.parametrize("batch_size", [1, 3, 8])
@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("shuffle", [True, False])
def test_each_record_exactly_once_per_epoch_across_ranks(sizes, world_size, batch_size, seed,
                                                        shuffle):
    n = sum(sizes)
    streams = [BatchStream(ListSource(sizes), batch_size, shuffle=shuffle, seed=seed,
                           shuffle_buffer=6, rank=r, world_size=world_size)
               for r in range(world_size)]
    steps = {s.steps_per_epoch for s in streams}
    assert steps == {-(-n // (world_size * batch_size))}
    for epoch in (0, 1):
        per_rank = [epoch_batches(s, epoch) for s in streams]
        seen = [x for batches in per_rank for b in batches for x in b]
        assert sorted(seen) == list(range(n))
        for batches in per_rank:
            assert all(len(b) == batch_size for b in batches[:-1])
            assert len(batches[-1]) <= batch_size


def test_last_step_split_evenly_possibly_empty():
    # 2 records left over for 3 ranks: sizes 1, 1, 0 — every rank still takes the step.
    assert [rank_slice(8, 1, 2, r, 3) for r in range(3)] == [(6, 7), (7, 8), (8, 8)]
    assert [rank_slice(12, 0, 2, r, 3) for r in range(3)] == [(0, 2), (2, 4), (4, 6)]
    assert steps_per_epoch(8, 2, 3) == 2 and steps_per_epoch(0, 2, 3) == 0
    streams = [BatchStream(ListSource([4, 4]), 2, seed=1, rank=r, world_size=3) for r in range(3)]
    assert [len(s.batch(0, 1)) for s in streams] == [1, 1, 0]


def test_order_is_a_function_of_seed_and_epoch():
    make = lambda seed: BatchStream(ListSource(SIZES["many"]), 4, seed=seed, shuffle_buffer=10)
    a, b, c = make(3), make(3), make(4)
    assert epoch_batches(a, 0) == epoch_batches(b, 0)
    assert epoch_batches(a, 0) != epoch_batches(a, 1)
    assert epoch_batches(a, 0) != epoch_batches(c, 0)
    assert epoch_batches(a, 2) == epoch_batches(b, 2)


def test_no_shuffle_keeps_file_order():
    stream = BatchStream(ListSource(SIZES["uneven"]), 5, shuffle=False)
    flat = [x for b in epoch_batches(stream, 3) for x in b]
    assert flat == list(range(sum(SIZES["uneven"])))


def test_shuffle_mixes_records_within_windows_only():
    plan = make_plan(np.array([4] * 25 + [3]), seed=0, epoch=0, shuffle=True, shuffle_buffer=10)
    starts = plan.window_starts
    assert starts[0] == 0 and starts[-1] == 103
    # windows are whole blocks of about shuffle_buffer records (within one block of it)
    assert all(10 - 4 < size < 10 + 4 for size in np.diff(starts)[:-1])
    stream = BatchStream(ListSource([4] * 25 + [3]), 103, seed=0, shuffle_buffer=10)
    order = list(stream.batch(0, 0))
    for w in range(plan.num_windows):
        window_items = order[starts[w]:starts[w + 1]]
        blocks = {x // 4 for x in window_items}
        assert blocks == set(plan.blocks_of(w).tolist())
    assert order != sorted(order)


def test_window_is_read_once_per_pass():
    source = ListSource([4] * 25 + [3])
    stream = BatchStream(source, 3, seed=5, shuffle_buffer=12)
    for step in range(stream.steps_per_epoch):
        stream.batch(0, step)
    assert sorted(source.reads) == list(range(26))


def test_iteration_is_endless_and_state_resumes():
    stream = BatchStream(ListSource([3, 4, 5]), 5, seed=2)
    first = list(itertools.islice(iter(stream), 7))  # 3 steps per epoch: crosses two epochs
    assert stream.state_dict() == {"epoch": 2, "step": 1}
    expected = [list(stream.batch(e, s)) for e, s in itertools.product(range(3), range(3))][:7]
    assert [list(b) for b in first] == expected
    again = BatchStream(ListSource([3, 4, 5]), 5, seed=2)
    again.load_state_dict({"epoch": 1, "step": 2})
    assert [list(b) for b in itertools.islice(iter(again), 2)] == expected[5:7]


def test_epochs_limit_and_empty_source():
    stream = BatchStream(ListSource([3, 4]), 2, epochs=2)
    assert len(list(stream)) == 8
    assert list(BatchStream(ListSource([0, 0]), 2)) == []


def test_transform_runs_on_items():
    stream = BatchStream(ListSource([6]), 4, shuffle=False, transform=sum, epochs=1)
    assert list(stream) == [0 + 1 + 2 + 3, 4 + 5]


def test_bad_positions_and_settings_are_refused():
    stream = BatchStream(ListSource([3]), 2)
    with pytest.raises(CheckpointError, match="does not fit"):
        stream.load_state_dict({"epoch": 0, "step": 9})
    with pytest.raises(CheckpointError, match="epoch"):
        stream.load_state_dict({"step": 1})
    with pytest.raises(ConfigError, match="rank"):
        BatchStream(ListSource([3]), 2, rank=2, world_size=2)
    with pytest.raises(ConfigError, match="step"):
        stream.batch(0, 2)


def test_advance_crosses_epochs():
    assert advance(0, 2, 3) == (1, 0)
    assert advance(4, 0, 3, 7) == (6, 1)
    assert advance(1, 3, 3, 0) == (2, 0)


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(0, 12), min_size=1, max_size=12),
       batch_size=st.integers(1, 9), world_size=st.integers(1, 4), seed=st.integers(0, 2**32),
       shuffle_buffer=st.integers(1, 40), epoch=st.integers(0, 5))
def test_property_exactly_once_and_equal_steps(sizes, batch_size, world_size, seed,
                                               shuffle_buffer, epoch):
    streams = [BatchStream(ListSource(sizes), batch_size, seed=seed, shuffle_buffer=shuffle_buffer,
                           rank=r, world_size=world_size) for r in range(world_size)]
    batches = [epoch_batches(s, epoch) for s in streams]
    assert len({len(b) for b in batches}) == 1
    assert sorted(x for rank in batches for b in rank for x in b) == list(range(sum(sizes)))
    for rank in batches:
        assert all(len(b) == batch_size for b in rank[:-1])


def test_manifest_progress_reports_every_record(tmp_path, monkeypatch):
    from textbatch.config import ReadConfig
    from textbatch.data.manifest import Manifest

    monkeypatch.setenv("TEXTBATCH_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "p.csv"
    path.write_text("".join(f'"1","","text {i}"\n' for i in range(11)))
    seen: list[int] = []
    Manifest.build([str(path)], ReadConfig(), block_size=4, progress=seen.append)
    assert seen == [4, 4, 3]
    Manifest.build([str(path)], ReadConfig(), block_size=4, progress=seen.append)
    assert seen[3:] == [11]  # a cache hit reports the shard at once
