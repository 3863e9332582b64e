"""Turn what the user typed into an ordered list of shards.

A shard is one unit a reader reads from start to end: a file, a URL, or a directory whose
subfolders are classes (IMDB's ``aclImdb/train`` with ``pos/`` and ``neg/``). The order is
deterministic (sorted within each input, inputs kept in the given order) because the manifest,
shard assignment and resume positions all index into this list.
"""

from __future__ import annotations

import glob
import os
import re
from urllib.parse import unquote, urlsplit

from textbatch.errors import ConfigError
from textbatch.io.redaction import redact

_GLOB_CHARS = re.compile(r"[*?\[]")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
# Files that sit beside data but are not data (Zhang's classes.txt and readme.txt).
_NOT_DATA = {"classes.txt", "readme.txt", "readme.md", "readme", "license", "license.txt"}


def is_url(text: str) -> bool:
    """True for anything with a scheme (``s3://``, ``https://``, ``file://``)."""
    return _SCHEME.match(text) is not None


def local_path(url: str) -> str | None:
    """The local file system path of ``url`` (a plain path or ``file://``), else None."""
    match = _SCHEME.match(url)
    if match is None:
        return url
    if match.group(1).lower() == "file":
        return unquote(urlsplit(url).path) or "/"
    return None


def without_query(url: str) -> str:
    """``url`` without its ``?query`` and ``#fragment`` (a pre-signed URL's suffix is the one
    before its query); local paths, where ``?`` is a file name character, are unchanged."""
    if local_path(url) is not None:
        return url
    return url.split("#", 1)[0].split("?", 1)[0]


def is_file(url: str) -> bool:
    """True when ``url`` names an existing file (or object), locally or through fsspec."""
    return _probe(url, "isfile")


def is_dir(url: str) -> bool:
    """True when ``url`` names an existing directory (or object prefix)."""
    return _probe(url, "isdir")


def _probe(url: str, test: str) -> bool:
    """``os.path.<test>`` for local paths, the fsspec file system's ``<test>`` for URLs."""
    path = local_path(url)
    if path is not None:
        return getattr(os.path, test)(path)
    import fsspec

    fs, remote = fsspec.core.url_to_fs(url)
    return getattr(fs, test)(remote)


def _data_suffix(name: str) -> bool:
    from textbatch.io.streams import strip_compression

    base = strip_compression(name).lower()
    return os.path.basename(base) not in _NOT_DATA and not os.path.basename(base).startswith(".")


def _expand_local(item: str) -> list[str]:
    path = local_path(item) or item
    if _GLOB_CHARS.search(path):
        matches = sorted(glob.glob(os.path.expanduser(path), recursive=True))
        if not matches:
            raise ConfigError(f"{item}: the pattern matches no file. Check the path and quoting.")
        return [shard for match in matches for shard in _expand_local(match)]
    path = os.path.expanduser(path)
    if os.path.isdir(path):
        return _expand_local_dir(path)
    if not os.path.exists(path):
        raise ConfigError(f"{item}: no such file or directory.")
    return [path]


def _expand_local_dir(path: str) -> list[str]:
    entries = sorted(e for e in os.listdir(path) if not e.startswith("."))
    if any(os.path.isdir(os.path.join(path, e)) for e in entries):
        return [path]  # subfolders are classes: one shard for the folders reader
    files = [os.path.join(path, e) for e in entries if _data_suffix(e)]
    if not files:
        raise ConfigError(f"{path}: the directory holds no data file and no class subfolder.")
    return files


def _expand_remote(item: str) -> list[str]:
    import fsspec

    fs, path = fsspec.core.url_to_fs(item)
    web = urlsplit(item).scheme.lower() in ("http", "https")  # there "?" starts the query
    if _GLOB_CHARS.search(without_query(item) if web else path):
        matches = sorted(fs.glob(path))
        if not matches:
            raise ConfigError(f"{redact(item)}: the pattern matches no object.")
        prefix = _credential_prefix(item)
        return [_with_credentials(fs.unstrip_protocol(m), prefix) for m in matches]
    if fs.isdir(path):
        return _expand_remote_dir(fs, path, item)
    if not fs.exists(path):
        raise ConfigError(f"{redact(item)}: no such object.")
    return [item]


def _expand_remote_dir(fs, path: str, item: str) -> list[str]:
    entries = sorted(fs.ls(path, detail=True), key=lambda e: e["name"])
    if any(e["type"] == "directory" for e in entries):
        return [item.rstrip("/")]
    files = [e["name"] for e in entries if _data_suffix(e["name"].rsplit("/", 1)[-1])]
    if not files:
        raise ConfigError(f"{redact(item)}: the prefix holds no data object and no class folder.")
    prefix = _credential_prefix(item)
    return [_with_credentials(fs.unstrip_protocol(f), prefix) for f in files]


def _credential_prefix(url: str) -> str:
    netloc = urlsplit(url).netloc
    return netloc.rsplit("@", 1)[0] + "@" if "@" in netloc else ""


def _with_credentials(url: str, prefix: str) -> str:
    if not prefix:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{prefix}{rest}"


def expand_shards(inputs: list[str]) -> list[str]:
    """Expand paths, globs, directories and URLs into an ordered, de-duplicated shard list.

    Local paths and ``file://`` URLs come back as plain paths; other URLs keep their scheme
    (and any credentials the user put in them: use ``redact`` before showing one). A directory
    with subfolders is one shard (one class per subfolder); a directory of files expands to
    its data files, sorted.

    Raises:
        ConfigError: no input, a missing path, or a pattern that matches nothing (named).
    """
    if not inputs:
        raise ConfigError("No input given. Pass at least one file, glob, directory or URL.")
    shards: dict[str, None] = {}  # an ordered set: a file named twice is read once
    for item in inputs:
        redact(item)  # remembers its secrets, so that any later message can be scrubbed
        expanded = _expand_local(item) if local_path(item) is not None else _expand_remote(item)
        shards.update(dict.fromkeys(expanded))
    return list(shards)
