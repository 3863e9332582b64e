"""Reading GloVe / word2vec / fastText text vectors: only vocabulary rows, any compression."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from textbatch.errors import DataError
from textbatch.features.pretrained import read_vectors, vector_dim

VOCAB = {"movie": 2, "great": 3, "the": 4, "new york": 5, "absent": 6}


def test_glove_lines_fill_only_vocabulary_rows(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("the 0.1 0.2 0.3\nunused 9 9 9\nmovie -1 0 1e-1\nnew york 5 6 7\n",
                    encoding="utf-8")
    vectors = read_vectors(str(path), VOCAB, rows=8)
    assert vectors.dim == 3 and vectors.matrix.shape == (8, 3)
    np.testing.assert_allclose(vectors.matrix[4], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(vectors.matrix[2], [-1, 0, 0.1])
    np.testing.assert_allclose(vectors.matrix[5], [5, 6, 7])  # a word with a space
    assert not vectors.matrix[[0, 1, 3, 6, 7]].any()  # padding, OOV, missing words: zeros
    assert vectors.found == 3
    assert "3 of 5 vocabulary words (60.0%)" in vectors.summary()


def test_fasttext_vec_gz_with_header_and_case_fallback(tmp_path):
    path = tmp_path / "wiki.vec.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("3 2\nGreat 1 2\nmovie 3 4\ngreat 5 6\n")
    assert vector_dim(str(path)) == 2
    vectors = read_vectors(str(path), VOCAB, rows=7)
    np.testing.assert_allclose(vectors.matrix[3], [5, 6])  # the exact spelling wins
    np.testing.assert_allclose(vectors.matrix[2], [3, 4])
    assert vectors.found == 2

    only_upper = tmp_path / "upper.txt"
    only_upper.write_text("Great 1 2\n", encoding="utf-8")
    np.testing.assert_allclose(read_vectors(str(only_upper), VOCAB, rows=7).matrix[3], [1, 2])


def test_a_short_or_broken_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("the 1 2 3\nmovie 1 2\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.txt:2: expected a word and 3 numbers"):
        read_vectors(str(path), VOCAB, rows=7)
    path.write_text("the 1 2 3\nmovie 1 x 3\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.txt:2: not a number"):
        read_vectors(str(path), VOCAB, rows=7)
    path.write_text("lonely\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.txt:1: no word vector"):
        vector_dim(str(path))
