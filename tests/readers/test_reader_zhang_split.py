"""The Zhang fast path agrees with ``csv`` on every line it accepts."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from textbatch.readers.zhang import _split

FIELD = st.text(st.sampled_from(['"', ",", "a", " ", "\r", "é", "\\"]), max_size=8)


def serialize(row: list[str], ending: str) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator=ending).writerow(row)
    return buffer.getvalue()


@settings(max_examples=100, deadline=None)
@given(st.lists(FIELD, min_size=2, max_size=3), st.sampled_from(["\n", "\r\n"]))
def test_fast_path_takes_quoted_rows(row: list[str], ending: str) -> None:
    line = serialize(row, ending)
    parsed = _split(line, len(row))
    assert parsed in (None, next(csv.reader([line])))
    if not any('"' in field or "," in field for field in row):  # the common case: fast
        assert parsed == row


@settings(max_examples=100, deadline=None)
@given(st.text(st.sampled_from(['"', ",", "a", "\r", "\n"]), max_size=20), st.integers(2, 3))
def test_fast_path_never_disagrees_with_csv(line: str, width: int) -> None:
    row = _split(line + "\n", width)
    if row is not None:
        assert row == next(csv.reader([line + "\n"], strict=False))
