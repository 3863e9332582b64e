"""Pretrained word vectors (GloVe ``.txt``, word2vec text, fastText ``.vec``) for sepCNN's
embedding, as the guide's ``train_fine_tuned_sequence_model.py`` loads GloVe.

The file is streamed line by line through ``textbatch.io.open_text`` (any URL or compression
the readers take) and only the rows of the vectorizer's vocabulary are kept, so memory is
vocabulary x dim whatever the file's size (GloVe 840B is 5.6 GB); the floats of a line are only
parsed when its word is wanted. The three formats are one: ``word v1 v2 ... vD`` per line, and
word2vec / fastText add a first line ``count dim``. A word with spaces (GloVe 840B has some) is
everything before the last ``dim`` fields. Words the file lacks keep a zero row, as the guide's
``embedding_matrix``; a word present only in another case (``The`` for ``the``) is used when the
exact one is absent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from textbatch.errors import DataError

NO_SKIP = "Check that the file is a GloVe / word2vec / fastText text file of vectors"


@dataclass
class PretrainedVectors:
    """``matrix`` float32 [rows, dim]: row ``vocabulary[word]`` holds the word's vector, the
    rest zeros; ``found`` counts vocabulary words the file had."""

    matrix: np.ndarray
    found: int
    wanted: int
    path: str

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def summary(self) -> str:
        """The report line: how much of the vocabulary the file covers."""
        share = self.found / self.wanted if self.wanted else 0.0
        return (f"pretrained embeddings: {self.found:,} of {self.wanted:,} vocabulary words "
                f"({share:.1%}) found in {self.path} ({self.dim} dims); the rest start at zero")


def vector_dim(url: str) -> int:
    """The dimension of the vectors in ``url``, from its first line (header or vector)."""
    from textbatch.io import open_text

    with open_text(url) as handle:
        first = handle.readline()
    header = _header(first)
    if header is not None:
        return header
    fields = first.rstrip("\r\n").rstrip(" ").split(" ")
    if len(fields) < 2:
        raise DataError(url, 1, "no word vector on the first line", hint=NO_SKIP)
    return len(fields) - 1


def read_vectors(url: str, vocabulary: dict[str, int], rows: int) -> PretrainedVectors:
    """Vectors of the ``vocabulary`` words (word -> row) found in ``url``, as a [rows, dim]
    matrix; one streaming pass, memory rows x dim."""
    from textbatch.io import open_text

    dim = vector_dim(url)
    matrix = np.zeros((rows, dim), dtype=np.float32)
    exact = np.zeros(rows, dtype=bool)  # rows filled from their exact spelling
    filled = np.zeros(rows, dtype=bool)
    lower = {}  # lowercased spelling -> row, for words the file has only in another case
    for word, row in vocabulary.items():
        lower.setdefault(word.lower(), row)
    with open_text(url) as handle:
        for number, line in enumerate(handle, start=1):
            if number == 1 and _header(line) is not None:
                continue
            word, rest = _split(line, dim, url, number)
            row = vocabulary.get(word)
            is_exact = row is not None
            if row is None:
                row = lower.get(word.lower())
                if row is None or exact[row] or filled[row]:
                    continue
            elif exact[row]:
                continue  # a repeated word: the first vector wins
            matrix[row] = _floats(rest, dim, url, number)
            filled[row], exact[row] = True, is_exact
    return PretrainedVectors(matrix, int(filled.sum()), len(vocabulary), url)


def _header(line: str) -> int | None:
    """word2vec / fastText's ``count dim`` first line: the dim, else None."""
    fields = line.split()
    if len(fields) == 2 and all(f.isdigit() for f in fields):
        return int(fields[1])
    return None


def _split(line: str, dim: int, url: str, number: int) -> tuple[str, str]:
    """(word, the text of its ``dim`` numbers); the word may itself contain spaces."""
    text = line.rstrip("\r\n").rstrip(" ")
    cut = len(text)
    for _ in range(dim):
        cut = text.rfind(" ", 0, cut)
        if cut <= 0:
            raise DataError(url, number, f"expected a word and {dim} numbers (the dimension "
                            "of the first vector)", hint=NO_SKIP)
    return text[:cut], text[cut + 1:]


def _floats(text: str, dim: int, url: str, number: int) -> np.ndarray:
    try:
        values = np.array(text.split(" "), dtype=np.float32)
    except ValueError as exc:
        raise DataError(url, number, f"not a number in the vector ({exc})", hint=NO_SKIP) from exc
    if len(values) != dim:
        raise DataError(url, number, f"expected {dim} numbers, got {len(values)}", hint=NO_SKIP)
    return values
