"""One folder per class, one file per record: IMDB's ``aclImdb/train/{pos,neg}/*.txt``.

The shard is the parent directory; its subfolders, sorted by name, are the classes. Records come
class by class, files sorted by name within each, so the order (and ``Position.offset``, the
file's index in that order) is the same on every machine. Each record has ``line`` 1 and the
file's own path, so an error points at the file. A UTF-8 byte-order mark at the start of a file
is dropped; a UTF-16 one makes the file a bad record (kind ``encoding``).
"""

from __future__ import annotations

import os
from typing import Iterator

from textbatch.config import ReadConfig
from textbatch.errors import DataError
from textbatch.io import local_path, redact
from textbatch.readers.base import BadRecords, Position, ReaderBase, Record
from textbatch.readers.lines import strip_bom


class FoldersReader(ReaderBase):
    """Reads a class-per-subfolder tree, locally or through fsspec."""

    name = "folders"

    def __init__(self, config: ReadConfig | None = None, labelled: bool = True) -> None:
        super().__init__(config, labelled)
        self._listings: dict[str, list[tuple[str, str]]] = {}
        self._classes: dict[str, list[str]] = {}

    def classes(self, shard: str) -> list[str] | None:
        if shard not in self._classes:
            self._classes[shard] = sorted(name for name, _ in _subfolders(shard))
        return self._classes[shard]

    def files(self, shard: str) -> list[tuple[str, str]]:
        """``(class_name, file_url)`` in record order (listed once per shard and cached)."""
        if shard not in self._listings:
            listing = []
            for name, folder in sorted(_subfolders(shard)):
                listing.extend((name, f) for f in _files(folder))
            self._listings[shard] = listing
        return self._listings[shard]

    def read(
        self, shard: str, bad: BadRecords, start: Position | None = None
    ) -> Iterator[tuple[Position, Record]]:
        files = self.files(shard)
        for index in range(start.offset if start else 0, len(files)):
            label, url = files[index]
            path = redact(url)
            text = _read_text(url, path, bad)
            if text is None:
                continue
            if not text or text.isspace():
                bad.handle(path, 1, "empty text", "empty_text")
                continue
            yield Position(index, 1), Record(text, label, path, 1)


def _subfolders(shard: str) -> list[tuple[str, str]]:
    path = local_path(shard)
    if path is not None:
        try:
            entries = list(os.scandir(path))
        except OSError as exc:
            raise DataError(shard, None, f"cannot list the directory: {exc}", hint=None) from None
        found = [(e.name, e.path) for e in entries if e.is_dir() and not e.name.startswith(".")]
    else:
        fs, root = _fs(shard)
        found = [(e["name"].rstrip("/").rsplit("/", 1)[-1], fs.unstrip_protocol(e["name"]))
                 for e in fs.ls(root, detail=True) if e["type"] == "directory"]
    if not found:
        raise DataError(redact(shard), None, "no class subfolder in this directory",
                        hint="Put each class's files in a subfolder named after the class.")
    return found


def _files(folder: str) -> list[str]:
    path = local_path(folder)
    if path is not None:
        return sorted(e.path for e in os.scandir(path) if e.is_file() and not e.name.startswith("."))
    fs, root = _fs(folder)
    return sorted(fs.unstrip_protocol(e["name"]) for e in fs.ls(root, detail=True)
                  if e["type"] == "file" and not e["name"].rsplit("/", 1)[-1].startswith("."))


def _fs(url: str):
    import fsspec

    return fsspec.core.url_to_fs(url)


def _read_text(url: str, path: str, bad: BadRecords) -> str | None:
    try:
        local = local_path(url)
        if local is not None:
            with open(local, "rb") as handle:
                data = handle.read()
        else:
            fs, remote = _fs(url)
            data = fs.cat_file(remote)
    except OSError as exc:
        raise DataError(path, None, f"cannot read: {exc}", hint=None) from None
    try:
        data = strip_bom(data, path)
    except DataError as exc:
        bad.handle(path, 1, exc.reason, "encoding")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad.handle(path, 1, f"invalid UTF-8 at byte offset {exc.start}; the file must be UTF-8",
                   "encoding")
        return None
    if "\x00" in text:
        bad.handle(path, 1, f"NUL byte at byte offset {text.index(chr(0))}", "nul_byte")
        return None
    return text
