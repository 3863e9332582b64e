"""Generate Zhang CSVs of any size by resampling real text (for larger-than-memory benchmarks).

The guide's data sets range from AG News (120k rows) to Amazon polarity (3.6M rows). This
writes a file of ``--rows`` rows in Zhang's layout (no header, ``"class","title","text"``, all
fields quoted, newlines escaped as backslash-n) whose texts are real reviews/articles from
``../shared/data``: each row takes a random source row (seeded) and rotates its words by a
random amount, so rows are realistic but rarely identical. The source pool is fixed (IMDB's 50k
reviews or AG News' 7.6k articles) and rows are written as they are made, so memory does not
grow with ``--rows``. Same ``--seed`` and arguments, same bytes.

    python bench/corpus.py --rows 3600000 --out /tmp/amazon_polarity_like.csv
    python bench/corpus.py --rows 120000 --source ag_news --out /tmp/ag.csv.gz
    python bench/corpus.py --rows 3000000 --source imdb_stars --lengths amazon --out /tmp/az.csv.gz

``--source imdb_stars`` is Amazon Full's shape: 5 classes from the star ratings in the IMDB
tarball's file names (1 -> 1, 2-3 -> 2, 4 and 7 -> 3, 8-9 -> 4, 10 -> 5), drawn from the 25,000
*training* reviews only, so ``--split test`` (the 25,000 test reviews, each once, in a seeded
order, not resampled) is held-out real text. ``--lengths amazon`` keeps a random contiguous
window of each review whose length is log-normal with a median of 75 words (Amazon Full's
reviews are ~80 words at the median; IMDB's 174), capped at the review's own length.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import os
import sys
from pathlib import Path
from typing import Iterator

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA  # noqa: E402

SOURCES = {
    "imdb": ["imdb/train.csv.gz", "imdb/test.csv.gz"],
    "ag_news": ["ag_news/test.csv"],
    "imdb_stars": ["imdb/aclImdb_labelled.tar.gz"],
}
CHUNK = 10_000  # rows drawn per RNG call
STARS = {1: "1", 2: "2", 3: "2", 4: "3", 7: "3", 8: "4", 9: "4", 10: "5"}
AMAZON_MEDIAN_WORDS, AMAZON_SIGMA = 75, 0.7


def _open_text(path: Path):
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def star_reviews(split: str) -> list[tuple[str, str, str]]:
    """(5-class label, "", text) of the tarball's ``split`` reviews, newlines escaped as in the
    Zhang CSVs, in the tarball's order."""
    import re
    import tarfile

    path = SHARED_DATA / SOURCES["imdb_stars"][0]
    if not path.exists():
        raise SystemExit(f"{path} is absent: ../shared/data beside the repo holds the data.")
    name = re.compile(rf"aclImdb/{split}/(pos|neg)/\d+_(\d+)\.txt$")
    pool = []
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            match = name.match(member.name)
            if match:
                text = archive.extractfile(member).read().decode("utf-8", "replace")
                text = text.replace("\\", " ").replace("\n", "\\n")
                pool.append((STARS[int(match.group(2))], "", text))
    return pool


def load_pool(source: str) -> list[tuple[str, str, str]]:
    """The source rows, fields kept exactly as stored (escapes intact)."""
    if source == "imdb_stars":
        return star_reviews("train")
    pool = []
    for relative in SOURCES[source]:
        path = SHARED_DATA / relative
        if not path.exists():
            raise SystemExit(f"{path} is absent: ../shared/data beside the repo holds the data.")
        with _open_text(path) as handle:
            for row in csv.reader(handle):
                pool.append((row[0], row[1], row[2]) if len(row) == 3 else (row[0], "", row[1]))
    return pool


def rows(pool: list[tuple[str, str, str]], count: int, seed: int,
         lengths: str = "source") -> Iterator[tuple[str, str, str]]:
    """``count`` resampled rows, drawn in chunks so the RNG is cheap and memory is constant."""
    rng = np.random.default_rng(seed)
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        picks, shifts = rng.integers(len(pool), size=size), rng.random(size)
        wanted = rng.lognormal(np.log(AMAZON_MEDIAN_WORDS), AMAZON_SIGMA, size)
        for pick, shift, keep in zip(picks.tolist(), shifts.tolist(), wanted.tolist()):
            label, title, text = pool[pick]
            words = text.split(" ")
            cut = int(shift * len(words))
            words = words[cut:] + words[:cut]
            if lengths == "amazon":
                words = words[: max(5, int(keep))]
            yield label, title, " ".join(words)


def held_out(count: int | None, seed: int, lengths: str) -> Iterator[tuple[str, str, str]]:
    """The test reviews, each once (in a seeded order), cut to ``lengths`` but not resampled."""
    pool = star_reviews("test")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pool))[:count]
    wanted = rng.lognormal(np.log(AMAZON_MEDIAN_WORDS), AMAZON_SIGMA, len(order))
    for index, keep in zip(order.tolist(), wanted.tolist()):
        label, title, text = pool[index]
        words = text.split(" ")
        yield label, title, " ".join(words[: max(5, int(keep))] if lengths == "amazon" else words)


def write(out: Path, count: int, seed: int, source: str, lengths: str = "source",
          split: str = "train") -> None:
    """Write to a temporary name and rename, so a half-written corpus is never used."""
    if split == "test":
        made = held_out(count, seed, lengths)
    else:
        made = rows(load_pool(source), count, seed, lengths)
    tmp = out.with_name(f".{out.name}.tmp")
    raw = gzip.open(tmp, "wb", compresslevel=1) if out.suffix == ".gz" else open(tmp, "wb")
    with io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerows(made)
    os.replace(tmp, out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True, help="rows to write (e.g. 3600000)")
    parser.add_argument("--out", type=Path, required=True, help="output .csv or .csv.gz")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", choices=sorted(SOURCES), default="imdb")
    parser.add_argument("--lengths", choices=["source", "amazon"], default="source",
                        help="source: whole texts; amazon: cut to Amazon Full's lengths")
    parser.add_argument("--split", choices=["train", "test"], default="train",
                        help="test (imdb_stars only): the held-out test reviews, each once")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be >= 1")
    if args.split == "test" and args.source != "imdb_stars":
        parser.error("--split test needs --source imdb_stars")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write(args.out, args.rows, args.seed, args.source, args.lengths, args.split)
    print(f"wrote {args.rows:,} rows to {args.out}")


if __name__ == "__main__":
    main()
