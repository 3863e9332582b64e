"""Shared fixtures for the data layer: paths to the real data sets."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture
def shared_file():
    """``shared_file("imdb/train.csv.gz")``: a real data file, or a skip saying it is absent."""

    def find(relative: str) -> Path:
        path = SHARED / relative
        if not path.exists():
            pytest.skip(f"{path} is absent (../shared/data beside the repo holds the real data)")
        return path

    return find
