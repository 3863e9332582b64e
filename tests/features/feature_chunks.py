"""``open_chunks`` over in-memory data, for the vectorizer tests (a plain module, not the
conftest: ``from conftest import`` resolves to whichever conftest Python imported last)."""

from __future__ import annotations

import numpy as np


def chunked(texts: list[str], labels: np.ndarray, size: int):
    """``open_chunks`` over in-memory data: a fresh iterator per call."""
    def open_chunks():
        for start in range(0, len(texts), size):
            yield texts[start : start + size], labels[start : start + size]
    return open_chunks
