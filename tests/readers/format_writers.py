"""Write (text, label) pairs in every format the readers know, for round-trip and seek tests.

Each writer returns the shard to read (a file, or a directory for ``folders``) and the records
a correct reader must yield, in order. Compression is by suffix, as the readers expect.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
from pathlib import Path

import zstandard

COMPRESS = {
    "": lambda data: data,
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".zst": lambda data: zstandard.ZstdCompressor().compress(data),
}
Pairs = list[tuple[str, str]]


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _save(path: Path, data: bytes, suffix: str) -> str:
    target = path.with_name(path.name + suffix)
    target.write_bytes(COMPRESS[suffix](data))
    return str(target)


def write_zhang(dirpath: Path, titled: list[tuple[str, str, int]], classes: list[str] | None,
                suffix: str = "") -> tuple[str, Pairs]:
    """Rows of (title, text, class_index); texts are escaped like the original release."""
    rows = [[str(k + 1), title.replace("\n", "\\n"), text.replace("\n", "\\n")]
            for title, text, k in titled]
    if classes is not None:
        (dirpath / "classes.txt").write_text("\n".join(classes) + "\n", encoding="utf-8")
    shard = _save(dirpath / "data.csv", _csv_bytes(rows), suffix)
    names = classes or [str(k) for k in range(max((k for *_, k in titled), default=0) + 1)]
    return shard, [(f"{t} {x}" if t else x, names[k]) for t, x, k in titled]


def write_csv(dirpath: Path, pairs: Pairs, suffix: str = "") -> tuple[str, Pairs]:
    data = _csv_bytes([["label", "text"], *[[label, text] for text, label in pairs]])
    return _save(dirpath / "data.csv", data, suffix), pairs


def write_tsv(dirpath: Path, pairs: Pairs, suffix: str = "") -> tuple[str, Pairs]:
    data = "".join(f"{label}\t{text}\n" for text, label in pairs).encode("utf-8")
    return _save(dirpath / "data.tsv", data, suffix), pairs


def write_jsonl(dirpath: Path, pairs: Pairs, suffix: str = "") -> tuple[str, Pairs]:
    lines = [json.dumps({"text": text, "label": label}, ensure_ascii=False) for text, label in pairs]
    return _save(dirpath / "data.jsonl", ("\n".join(lines) + "\n").encode("utf-8"), suffix), pairs


def write_fasttext(dirpath: Path, pairs: Pairs, suffix: str = "") -> tuple[str, Pairs]:
    data = "".join(f"__label__{label} {text}\n" for text, label in pairs).encode("utf-8")
    return _save(dirpath / "data.ft", data, suffix), pairs


def write_label_text(dirpath: Path, pairs: Pairs, suffix: str = "") -> tuple[str, Pairs]:
    data = "".join(f"{label} {text}\n" for text, label in pairs).encode("utf-8")
    return _save(dirpath / "data", data, suffix), pairs


def write_parquet(dirpath: Path, pairs: Pairs, suffix: str = "") -> tuple[str, Pairs]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"text": [t for t, _ in pairs], "label": [lb for _, lb in pairs]})
    path = dirpath / "data.parquet"
    pq.write_table(table, path, row_group_size=3)
    return str(path), pairs


def write_folders(dirpath: Path, pairs: Pairs, suffix: str = "") -> tuple[str, Pairs]:
    root = dirpath / "tree"
    named = []
    for index, (text, label) in enumerate(pairs):
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{index:05d}.txt"
        (folder / name).write_bytes(text.encode("utf-8"))
        named.append((label, name, text))
    root.mkdir(exist_ok=True)
    return str(root), [(text, label) for label, _, text in sorted(named)]


LINE_WRITERS = {
    "csv": write_csv,
    "tsv": write_tsv,
    "jsonl": write_jsonl,
    "fasttext": write_fasttext,
    "label-text": write_label_text,
}
WRITERS = {**LINE_WRITERS, "parquet": write_parquet, "folders": write_folders}
