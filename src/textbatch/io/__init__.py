"""Where bytes come from and where they go: shards, streams and atomic writes.

Owns: turning user inputs (paths, globs, directories, fsspec URLs) into an ordered shard list;
opening a shard as a binary/text stream with decompression chosen by suffix; positioning a
stream at a byte offset of its decompressed content; writing files and directories atomically.
Leaves to others: parsing (``textbatch.readers``) and deciding which offsets matter
(``textbatch.data``).
"""

from textbatch.io.atomic import atomic_dir, atomic_write
from textbatch.io.redaction import redact, scrub
from textbatch.io.shards import expand_shards, is_dir, is_file, is_url, local_path
from textbatch.io.streams import (
    COMPRESSIONS,
    compression_of,
    open_at,
    open_binary,
    open_text,
    skip_bytes,
    strip_compression,
)

__all__ = [
    "COMPRESSIONS",
    "atomic_dir",
    "atomic_write",
    "compression_of",
    "expand_shards",
    "is_dir",
    "is_file",
    "is_url",
    "local_path",
    "open_at",
    "open_binary",
    "open_text",
    "redact",
    "scrub",
    "skip_bytes",
    "strip_compression",
]
