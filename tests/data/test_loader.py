"""BatchLoader with DataLoader workers: same order for any worker count, exact resume.

Worker start-up costs ~0.1-0.5 s, so these grids are small; the planner's wide grids are in
test_plan.py.
"""

from __future__ import annotations

import itertools

import pytest

from textbatch.data.stream import BatchLoader, BatchStream

from blocksources import ListSource

SIZES = [5, 9, 0, 7, 3, 11]  # 35 records, uneven blocks


def make_stream(batch_size: int = 4, seed: int = 3, **kwargs) -> BatchStream:
    return BatchStream(ListSource(SIZES), batch_size, seed=seed, shuffle_buffer=10, **kwargs)


def as_lists(batches) -> list[list[int]]:
    return [list(b) for b in batches]


@pytest.mark.parametrize("num_workers", [0, 1, 2])
def test_same_batches_for_any_worker_count(num_workers):
    stream = make_stream(epochs=2)
    expected = [list(stream.batch(e, s)) for e in range(2) for s in range(stream.steps_per_epoch)]
    got = as_lists(BatchLoader(make_stream(epochs=2), num_workers))
    assert got == expected
    for epoch in range(2):
        one_epoch = got[epoch * 9:(epoch + 1) * 9]
        assert sorted(x for b in one_epoch for x in b) == list(range(35))
        assert [len(b) for b in one_epoch] == [4] * 8 + [3]


@pytest.mark.parametrize("num_workers", [0, 1, 2])
def test_resume_mid_epoch_yields_exactly_the_rest(num_workers):
    loader = BatchLoader(make_stream(batch_size=3, epochs=1), num_workers)
    consumed = as_lists(itertools.islice(iter(loader), 5))
    state = loader.state_dict()
    assert state == {"epoch": 0, "step": 5}  # what was received, not what workers prefetched
    resumed = BatchLoader(make_stream(batch_size=3, epochs=1), num_workers)
    resumed.load_state_dict(state)
    rest = as_lists(resumed)
    assert sorted(x for b in consumed + rest for x in b) == list(range(35))
    assert consumed + rest == as_lists(make_stream(batch_size=3, epochs=1))
    assert resumed.state_dict() == {"epoch": 1, "step": 0}


def test_resume_reads_only_the_windows_it_needs():
    # Resuming at the last step loads one window (a seek), never the consumed ones.
    source = ListSource(SIZES)
    stream = BatchStream(source, 4, seed=3, shuffle_buffer=10, epochs=1)
    stream.load_state_dict({"epoch": 0, "step": stream.steps_per_epoch - 1})
    assert len(list(stream)) == 1
    plan = stream.plan(0)
    assert sorted(source.reads) == sorted(plan.blocks_of(plan.num_windows - 1).tolist())


def test_iterating_again_continues_after_what_was_received():
    loader = BatchLoader(make_stream(epochs=1), num_workers=2)
    first = as_lists(itertools.islice(iter(loader), 3))
    second = as_lists(loader)
    assert first + second == as_lists(make_stream(epochs=1))


def test_ranks_with_workers_cover_the_epoch_once():
    streams = [make_stream(batch_size=2, rank=r, world_size=3, epochs=1) for r in range(3)]
    per_rank = [as_lists(BatchLoader(s, num_workers=2 if r == 1 else 0))
                for r, s in enumerate(streams)]
    assert {len(batches) for batches in per_rank} == {6}
    assert sorted(x for batches in per_rank for b in batches for x in b) == list(range(35))
