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
}
CHUNK = 10_000  # rows drawn per RNG call


def _open_text(path: Path):
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def load_pool(source: str) -> list[tuple[str, str, str]]:
    """The source rows, fields kept exactly as stored (escapes intact)."""
    pool = []
    for relative in SOURCES[source]:
        path = SHARED_DATA / relative
        if not path.exists():
            raise SystemExit(f"{path} is absent: ../shared/data beside the repo holds the data.")
        with _open_text(path) as handle:
            for row in csv.reader(handle):
                pool.append((row[0], row[1], row[2]) if len(row) == 3 else (row[0], "", row[1]))
    return pool


def rows(pool: list[tuple[str, str, str]], count: int, seed: int) -> Iterator[tuple[str, str, str]]:
    """``count`` resampled rows, drawn in chunks so the RNG is cheap and memory is constant."""
    rng = np.random.default_rng(seed)
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        picks, shifts = rng.integers(len(pool), size=size), rng.random(size)
        for pick, shift in zip(picks.tolist(), shifts.tolist()):
            label, title, text = pool[pick]
            words = text.split(" ")
            cut = int(shift * len(words))
            yield label, title, " ".join(words[cut:] + words[:cut])


def write(out: Path, count: int, seed: int, source: str) -> None:
    """Write to a temporary name and rename, so a half-written corpus is never used."""
    pool = load_pool(source)
    tmp = out.with_name(f".{out.name}.tmp")
    raw = gzip.open(tmp, "wb", compresslevel=1) if out.suffix == ".gz" else open(tmp, "wb")
    with io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerows(rows(pool, count, seed))
    os.replace(tmp, out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True, help="rows to write (e.g. 3600000)")
    parser.add_argument("--out", type=Path, required=True, help="output .csv or .csv.gz")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", choices=sorted(SOURCES), default="imdb")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be >= 1")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write(args.out, args.rows, args.seed, args.source)
    print(f"wrote {args.rows:,} rows to {args.out}")


if __name__ == "__main__":
    main()
