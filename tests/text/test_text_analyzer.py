"""The analyzer equals scikit-learn's word analyzer, in the slow and in the batch path."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from textbatch.features.counting import TokenTable
from textbatch.text.analyzer import Analyzer, strip_accents_unicode

TEXTS = [
    "The quick brown fox -- jumped over the lazy dog!",
    "Café crème brûlée, naïve résumé; ½ İstanbul straße ﬁne 東京タワー",
    "",
    "a b c",  # only one-letter tokens: none survive \w\w+
    "snake_case and CamelCase 42 x9 the_end",
    "Ünïcödé only ÀÉÎÕÜ",
    b"bytes \xff input",
    "tabs\tand\nnewlines",
    "\U0001d406\U0001d42b\U0001d41e\U0001d41a\U0001d42d film",  # bold "Great": ASCII after NFKD
    "\U0001d406\U0001d42b\U0001d41e\U0001d41a\U0001d42d \u65e5\u672c",  # the same, not ASCII
    "!!! ... ??? --",  # separators only
    "--Leading and trailing--",
    "ctrl\x00chars\x7fin\x0bthe\x1ftext",
    "".join(map(chr, range(128))) + " " + " ".join(map(chr, range(128))),  # every ASCII char
]


def _sklearn():
    return TfidfVectorizer(ngram_range=(1, 2), strip_accents="unicode", decode_error="replace")


@pytest.mark.parametrize("text", TEXTS)
def test_ngrams_equal_sklearn(text):
    assert Analyzer((1, 2)).ngrams(text) == _sklearn().build_analyzer()(text)


def test_batch_encode_equals_per_text_tokens():
    table = TokenTable()
    ids, offsets = Analyzer().encode(TEXTS, table.intern)
    inverse = {i: t for t, i in table.ids.items()}
    for row, text in enumerate(TEXTS):
        got = [inverse[i] for i in ids[offsets[row] : offsets[row + 1]].tolist()]
        assert got == Analyzer().tokens(text)


def test_batch_encode_of_texts_without_tokens():
    ids, offsets = Analyzer().encode(["", "a", "!! ?"], TokenTable().intern)
    assert ids.tolist() == [] and offsets.tolist() == [0, 0, 0, 0]


def test_unknown_tokens_get_the_lookup_default():
    known = {"quick": 7}
    lookup = lambda tokens: np.array([known.get(t, -1) for t in tokens], dtype=np.int64)  # noqa: E731
    ids, offsets = Analyzer().encode(["The quick fox", "quick"], lookup)
    assert ids.tolist() == [-1, 7, -1, 7] and offsets.tolist() == [0, 3, 4]


def test_strip_accents_matches_sklearn_beyond_latin():
    from sklearn.feature_extraction.text import strip_accents_unicode as reference

    for text in ["àéîõü", "ǅ ǈ", "Ḁḁ", "e\u0301", "한국어", "ascii"]:
        assert strip_accents_unicode(text) == reference(text)


def test_pickles_for_dataloader_workers():
    analyzer = pickle.loads(pickle.dumps(Analyzer((1, 2))))
    assert analyzer.ngrams("Hello big World") == ["hello", "big", "world", "hello big", "big world"]


def test_count_words_is_len_of_split():
    """The guide's words per sample (``len(text.split())``), also for every ASCII whitespace
    character Python splits on (\\x1c-\\x1f too) and for non-ASCII spaces."""
    import random

    from textbatch.text.analyzer import count_words

    rng = random.Random(0)
    alphabet = [chr(c) for c in range(128)] + ["é", "\u00a0", "\u2003", "東"]
    texts = ["", " ", "one", " two  words ", "\x1ca\x1fb\x0bc"] + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    for text in texts:
        assert count_words(text) == len(text.split()), repr(text)
