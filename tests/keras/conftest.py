"""Keras tests run on the torch backend (the only one installed here). The backend is chosen
when Keras is first imported, so it is set here, before any test module imports it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["KERAS_BACKEND"] = "torch"

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
