"""SequenceVectorizer ids/cutting and HashedNgramVectorizer stability."""

from __future__ import annotations

import numpy as np
import pytest

from feature_chunks import chunked
from textbatch.config import VectorizeConfig
from textbatch.errors import ConfigError
from textbatch.features import load_vectorizer, make_vectorizer
from textbatch.features.hashed import HashedNgramVectorizer
from textbatch.features.sequence import SequenceVectorizer
from textbatch.text.hashing import fnv1a_64

TEXTS = ["the cat sat on the mat", "the dog sat", "a cat and the dog", "zebra"]
LABELS = np.array([0, 1, 0, 1])


def _sequence(**settings):
    config = VectorizeConfig(kind="sequence", top_k=3, **settings)
    return SequenceVectorizer(config).fit(chunked(TEXTS, LABELS, 2))


def test_top_k_by_frequency_ties_by_string():
    vectorizer = _sequence()
    # the: 4, cat/dog/sat: 2 each -> cat, dog by string; "on", "mat", "and", "zebra" are out.
    assert vectorizer.vocabulary_ == {"the": 2, "cat": 3, "dog": 4}
    assert vectorizer.num_features == 5


def test_ids_with_oov_and_pre_cut():
    vectorizer = _sequence(max_sequence_length=3)
    batch = vectorizer.transform(["the cat sat on the mat", "dog", ""])
    assert batch.offsets.tolist() == [0, 3, 4, 4]
    assert batch.ids.tolist() == [1, 2, 1, 4]  # last three of: the cat sat on the mat
    assert batch.padded(4, "pre").tolist() == [[0, 1, 2, 1], [0, 0, 0, 4], [0, 0, 0, 0]]
    # sepCNN's input: padded to the batch's longest record rounded up to a multiple of 8,
    # capped at the sequence length (here 3 -> 8 -> 4), records left-aligned (masked)
    inputs, _ = batch.to_tensors(sequence_length=4)
    assert inputs["tokens"].tolist() == [[1, 2, 1, 0], [4, 0, 0, 0], [0, 0, 0, 0]]


def test_post_cut_keeps_the_start():
    batch = _sequence(max_sequence_length=2, padding="post").transform(["the cat sat on"])
    assert batch.ids.tolist() == [2, 3]


def test_sequence_save_load(tmp_path):
    config = VectorizeConfig(kind="sequence", top_k=3)
    make_vectorizer(config).fit(chunked(TEXTS, LABELS, 2)).save(tmp_path)
    loaded = load_vectorizer(tmp_path)
    assert isinstance(loaded, SequenceVectorizer) and loaded.vocabulary_["the"] == 2
    with pytest.raises(ConfigError, match="holds a 'sequence' vectorizer"):
        HashedNgramVectorizer.load(tmp_path)


def test_hashed_ids_are_the_stable_hash():
    vectorizer = HashedNgramVectorizer(VectorizeConfig(kind="hashed", buckets=1000))
    assert vectorizer.fit(None) is vectorizer and vectorizer.num_features == 1000
    batch = vectorizer.transform(["Big cat", "cat"])
    big, cat = fnv1a_64("big"), fnv1a_64("cat")
    bigram = (big * 116049371 + cat) % 2**64
    assert batch.ids.tolist() == [big % 1000, cat % 1000, bigram % 1000, cat % 1000]
    assert batch.offsets.tolist() == [0, 3, 4]
    assert np.all(batch.weights == 1.0)


def test_hashed_non_ascii_texts_hash_the_normalized_tokens():
    vectorizer = HashedNgramVectorizer(VectorizeConfig(kind="hashed", ngram_range=(1, 1)))
    assert vectorizer.transform(["Café"]).ids.tolist() == [fnv1a_64("cafe") % 2_000_000]
