"""``chunked``: every item once, in order, in lists of the asked size."""

from __future__ import annotations

import pytest

from textbatch.data.chunked import chunked


@pytest.mark.parametrize("count, size", [(0, 3), (1, 3), (6, 3), (7, 3), (5, 1), (2, 10)])
def test_chunks_cover_every_item_in_order(count: int, size: int):
    chunks = list(chunked(iter(range(count)), size))
    assert [item for chunk in chunks for item in chunk] == list(range(count))
    assert all(len(chunk) == size for chunk in chunks[:-1])
    assert all(1 <= len(chunk) <= size for chunk in chunks)


def test_chunks_are_lazy():
    def items():
        yield from range(4)
        raise AssertionError("read past the first chunk")

    assert next(chunked(items(), 2)) == [0, 1]


def test_size_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        next(chunked([1], 0))
