"""Property round-trips: whatever texts and labels are written in a format read back equal."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from format_writers import WRITERS, write_zhang
from textbatch.config import ReadConfig
from textbatch.readers import BadRecords, get_reader

SETTINGS = settings(max_examples=40, deadline=None)


def chars(exclude: str = ""):
    """Any encodable character except NUL and ``exclude`` (surrogates cannot be UTF-8)."""
    return st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00" + exclude)


def texts(exclude: str = "", strip_leading: bool = False):
    text = st.text(chars(exclude), min_size=1, max_size=40).filter(lambda t: not t.isspace())
    if strip_leading:
        text = text.filter(lambda t: not t[0].isspace() and not t.startswith("__label__"))
    return text


LABELS = st.sampled_from(["pos", "neg", "0", "1", "Sci/Tech", "ünï"])
# Per format: what its files cannot hold (documented in each reader's docstring).
TEXTS = {
    "csv": texts(),
    "tsv": texts("\t\n\r"),
    "jsonl": texts(),
    "fasttext": texts("\n\r", strip_leading=True),
    "label-text": texts("\n\r"),
    "parquet": texts(),
    "folders": texts(),
}


def read_all(shard: str, config: ReadConfig | None = None) -> list[tuple[str, str | None]]:
    reader = get_reader(shard, config or ReadConfig())
    return [(r.text, r.label) for _, r in reader.read(shard, BadRecords())]


def roundtrip(fmt: str, pairs: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shard, expected = WRITERS[fmt](Path(tmp), pairs)
        assert read_all(shard, ReadConfig(format=fmt)) == expected


def make_test(fmt: str):
    folder_labels = st.sampled_from(["pos", "neg", "b c"])
    labels = folder_labels if fmt == "folders" else LABELS

    @SETTINGS
    @given(st.lists(st.tuples(TEXTS[fmt], labels), min_size=1, max_size=8))
    def test(pairs):
        roundtrip(fmt, pairs)

    test.__name__ = f"test_roundtrip_{fmt.replace('-', '_')}"
    return test


for _fmt in TEXTS:
    globals()[f"test_roundtrip_{_fmt.replace('-', '_')}"] = make_test(_fmt)


@SETTINGS
@given(
    st.lists(st.tuples(st.text(chars("\\"), max_size=20), texts("\\"), st.integers(0, 3)),
             min_size=1, max_size=8),
    st.booleans(),
)
def test_roundtrip_zhang(rows, with_classes):
    classes = ["World", "Sports", "Business", "Sci/Tech"] if with_classes else None
    with tempfile.TemporaryDirectory() as tmp:
        shard, expected = write_zhang(Path(tmp), rows, classes)
        reader = get_reader(shard, ReadConfig())
        assert reader.name == "zhang"
        assert [(r.text, r.label) for _, r in reader.read(shard, BadRecords())] == expected
        assert reader.classes(shard) == classes
