"""What every vectorizer does the same way once it can ``transform`` a list of texts.

Labelling the batches of a ``(texts, labels)`` chunk stream, and the plain fit-then-transform
that vectorizers with nothing to reuse between fitting and transforming (sequence, hashed) use.
The n-gram vectorizer overrides ``fit_transform``: its second pass already holds the rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import numpy as np

from textbatch.features.batch import SparseBatch

if TYPE_CHECKING:  # ngram imports this module, so its type aliases are for annotations only
    from textbatch.features.ngram import Chunks, Merge


class ChunkTransformer:
    """Base of the vectorizers: subclasses define ``fit`` and ``transform``."""

    def fit(self, open_chunks: Chunks, merge: Merge | None = None) -> Any:
        raise NotImplementedError

    def transform(self, texts: list[str]) -> SparseBatch:
        raise NotImplementedError

    def fit_transform(self, open_chunks: Chunks, merge: Merge | None = None,
                      spill_dir: str | Path | None = None, chunk_size: int = 4096
                      ) -> Iterator[SparseBatch]:
        """Fit, then yield the labelled rows of the same data (the common interface)."""
        self.fit(open_chunks, merge)
        return self.iter_transform(open_chunks())

    def iter_transform(self, chunks: Iterable[tuple[list[str], np.ndarray]]) -> Iterator[
            SparseBatch]:
        """Labelled batches of a chunk stream (what ``write_cache`` consumes)."""
        for texts, labels in chunks:
            batch = self.transform(texts)
            batch.labels = np.asarray(labels, dtype=np.int64)
            yield batch
