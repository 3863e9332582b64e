"""The word analyzer: text -> tokens -> n-grams, the same way in fit, transform and explore.

It reproduces scikit-learn's ``TfidfVectorizer(analyzer="word", strip_accents="unicode",
decode_error="replace")`` exactly (lowercase, then NFKD accent stripping, then the token pattern
``(?u)\\b\\w\\w+\\b``; n-grams joined by one space), because the guide's n-gram model is defined by
that analyzer and our NgramVectorizer is tested against it.

Tokenizing is the floor every pass pays, so the batch path avoids per-token Python work where it
can: accents are stripped only for non-ASCII texts (one C-level ``isascii`` check), the tokens of
ASCII texts are found by one ``bytes.translate`` per batch and pyarrow's whitespace split (others
by one compiled ``findall`` per text), and vectorizers map distinct tokens to integer ids with a
dict and build n-gram ids arithmetically in numpy (see ``features.ngram``) instead of joining
strings.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable, Iterable, Sequence

import numpy as np

TOKEN_PATTERN = r"(?u)\b\w\w+\b"


def strip_accents_unicode(text: str) -> str:
    """NFKD-decompose and drop combining marks (scikit-learn's ``strip_accents_unicode``)."""
    if text.isascii():
        return text
    normalized = unicodedata.normalize("NFKD", text)
    if normalized.isascii():
        return normalized
    # Only the few distinct non-ASCII characters are tested (C-level ``set``), and each mark
    # found is removed with one ``str.replace``: same result, a fraction of the per-char loop.
    combining = unicodedata.combining
    for mark in [c for c in set(normalized) if c > "\x7f" and combining(c)]:
        normalized = normalized.replace(mark, "")
    return normalized


# ASCII byte -> b" " for what ``str.split()`` splits on, b"x" for anything else.
_SPACE_OR_X = bytes(32 if chr(c).isspace() else 120 for c in range(128)) + b"x" * 128


def count_words(text: str) -> int:
    """``len(text.split())``, the guide's words per sample, without building the list: for ASCII
    text one ``bytes.translate`` and a count of word starts (~10x faster on reviews)."""
    if not text.isascii():
        return len(text.split())
    marks = text.encode("ascii").translate(_SPACE_OR_X)
    return marks.count(b" x") + (marks[:1] == b"x")


class Analyzer:
    """Lowercase, strip accents, find word tokens, make n-grams over ``ngram_range``.

    Plain attributes only (a compiled pattern pickles as its source), so DataLoader workers can
    receive it.
    """

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 2),
        lowercase: bool = True,
        strip_accents: bool = True,
        token_pattern: str = TOKEN_PATTERN,
    ) -> None:
        self.ngram_range = (int(ngram_range[0]), int(ngram_range[1]))
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.token_pattern = token_pattern
        self._findall = re.compile(token_pattern).findall

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_findall"]  # a bound method of a pattern; rebuilt from token_pattern
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._findall = re.compile(self.token_pattern).findall

    def normalize(self, text: str | bytes) -> str:
        """The preprocessed text the token pattern runs on (bytes decode with 'replace')."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        if self.lowercase:
            text = text.lower()
        if self.strip_accents and not text.isascii():
            text = strip_accents_unicode(text)
        return text

    def tokens(self, text: str | bytes) -> list[str]:
        """Word tokens of one text (unigrams)."""
        return self._findall(self.normalize(text))

    def ngrams(self, text: str | bytes) -> list[str]:
        """All n-grams of one text as strings, in scikit-learn's order (slow path: tests,
        explore's plots and small inputs; vectorizers use ``tokenize_batch``)."""
        tokens = self.tokens(text)
        min_n, max_n = self.ngram_range
        out = list(tokens) if min_n == 1 else []
        for n in range(max(min_n, 2), min(max_n, len(tokens)) + 1):
            out.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return out

    def encode(self, texts: Sequence[str | bytes], lookup: Lookup) -> tuple[np.ndarray, np.ndarray]:
        """Token ids of many texts back to back, and int64 CSR offsets [n + 1] into them.

        ``lookup`` maps a list of token strings to int64 ids (a vocabulary with -1 for unknown
        tokens, or an interning table while counting). It is called once or twice per batch with
        distinct tokens for ASCII texts, so the per-token work stays in C: texts that are ASCII
        after normalization (lowercasing, then accent stripping, as scikit-learn does: a letter
        that NFKD turns into an upper-case ASCII one stays upper case) are split by one
        ``bytes.translate`` and pyarrow, and their tokens dictionary-encoded (for ASCII, ``\\w``
        is ``[0-9A-Za-z_]``, so the tokens are identical); the rest go through Python's ``re``
        exactly as scikit-learn does.
        """
        if not self._fast:
            return self._encode_python(texts, range(len(texts)), lookup, len(texts))
        normalized = [t.lower() if isinstance(t, str) and t.isascii() else self.normalize(t)
                      for t in texts]
        is_ascii = np.fromiter((t.isascii() for t in normalized), bool, len(normalized))
        ascii_rows = np.flatnonzero(is_ascii)
        ids_a, counts_a = _encode_ascii([normalized[i] for i in ascii_rows], lookup)
        if len(ascii_rows) == len(normalized):
            return ids_a, _offsets(counts_a)
        other_rows = np.flatnonzero(~is_ascii)
        ids_o, offsets_o = self._encode_python(normalized, other_rows, lookup, len(other_rows),
                                               normalized=True)
        return _interleave(ascii_rows, ids_a, counts_a, other_rows, ids_o, np.diff(offsets_o))

    @property
    def _fast(self) -> bool:
        return self.lowercase and self.strip_accents and self.token_pattern == TOKEN_PATTERN

    def _encode_python(self, texts: Sequence, rows: Iterable[int], lookup: Lookup, count: int,
                       normalized: bool = False) -> tuple[np.ndarray, np.ndarray]:
        findall, normalize = self._findall, self.normalize
        tokens: list[str] = []
        counts = np.zeros(count, dtype=np.int64)
        for position, row in enumerate(rows):
            found = findall(texts[row] if normalized else normalize(texts[row]))
            counts[position] = len(found)
            tokens += found
        ids = lookup(tokens) if tokens else np.zeros(0, np.int64)
        return np.asarray(ids, dtype=np.int64), _offsets(counts)


Lookup = Callable[[list[str]], np.ndarray]

# ASCII bytes -> themselves when a word character (``[0-9A-Za-z_]``), else a space: after one
# ``bytes.translate``, whitespace-split pieces of two or more characters are exactly the matches
# of ``(?u)\b\w\w+\b`` on the ASCII text.
_WORD_BYTES = bytes(c if chr(c).isascii() and (chr(c).isalnum() or c == 95) else 32
                    for c in range(256))


def _encode_ascii(texts: list[str], lookup: Lookup) -> tuple[np.ndarray, np.ndarray]:
    """Ids and per-text token counts of (normalized) ASCII texts: one ``bytes.translate`` over
    the batch (separators to spaces), then pyarrow splits and dictionary-encodes the tokens
    (three times faster than a regex split)."""
    if not texts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    import pyarrow as pa
    import pyarrow.compute as pc

    text_offsets = _offsets(np.fromiter(map(len, texts), np.int64, len(texts)))
    joined = "".join(texts).encode("ascii").translate(_WORD_BYTES)
    words = pa.LargeStringArray.from_buffers(len(texts), pa.py_buffer(text_offsets),
                                             pa.py_buffer(joined))
    pieces = pc.ascii_split_whitespace(words)
    flat = pieces.flatten()
    keep = pc.greater_equal(pc.binary_length(flat), 2)
    kept_before = np.zeros(len(flat) + 1, dtype=np.int64)
    np.cumsum(keep.to_numpy(zero_copy_only=False), out=kept_before[1:])
    list_offsets = pieces.offsets.to_numpy()
    counts = kept_before[list_offsets[1:]] - kept_before[list_offsets[:-1]]
    encoded = pc.dictionary_encode(flat.filter(keep))
    if len(encoded.dictionary) == 0:
        return np.zeros(0, np.int64), counts
    mapped = np.asarray(lookup(encoded.dictionary.to_pylist()), dtype=np.int64)
    return mapped[encoded.indices.to_numpy()], counts


def _offsets(counts: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def _interleave(rows_a: np.ndarray, ids_a: np.ndarray, counts_a: np.ndarray, rows_b: np.ndarray,
                ids_b: np.ndarray, counts_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge two CSR groups of rows back into row order."""
    counts = np.zeros(len(rows_a) + len(rows_b), dtype=np.int64)
    counts[rows_a], counts[rows_b] = counts_a, counts_b
    offsets = _offsets(counts)
    ids = np.empty(offsets[-1], dtype=np.int64)
    for rows, part, part_counts in ((rows_a, ids_a, counts_a), (rows_b, ids_b, counts_b)):
        local = _offsets(part_counts)[:-1]
        ids[np.repeat(offsets[rows] - local, part_counts) + np.arange(len(part))] = part
    return ids, offsets
