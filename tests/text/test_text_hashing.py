"""Feature hashes are a fixed function of UTF-8 bytes: equal across processes and hash seeds."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from textbatch.text.hashing import combine_ngram_hashes, fnv1a_64, fnv1a_64_many

WORDS = ["", "a", "hello", "héllo wörld", "東京", "x" * 40]


def test_known_fnv1a_64_values():
    # Published FNV-1a 64 test vectors.
    assert fnv1a_64("") == 0xCBF29CE484222325
    assert fnv1a_64("a") == 0xAF63DC4C8601EC8C
    assert fnv1a_64("foobar") == 0x85944171F73967E8


def test_vectorised_equals_reference():
    assert fnv1a_64_many(WORDS).tolist() == [fnv1a_64(w) for w in WORDS]


def test_same_values_in_a_process_with_another_hash_seed():
    code = ("import json; from textbatch.text.hashing import fnv1a_64_many; "
            f"print(json.dumps(fnv1a_64_many({WORDS!r}).tolist()))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == fnv1a_64_many(WORDS).tolist()


def test_ngram_hashes_stay_inside_rows():
    hashes = np.arange(1, 6, dtype=np.uint64)
    values, rows = combine_ngram_hashes(hashes, np.array([0, 2, 3, 5]), 2)
    assert rows.tolist() == [0, 2]  # row 1 has one token: no bigram
    assert values[0] == np.uint64(1 * 116049371 + 2)
