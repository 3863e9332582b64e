"""Readers: one module per format, one dispatcher.

Owns: parsing files into ``Record`` objects in file order with the ``Position`` each starts at,
and reporting bad input through ``BadRecords``. Leaves to others: where shards come from and
decompression (``textbatch.io``), counting, splitting and shuffling (``textbatch.data``).
"""

from textbatch.readers.base import BadRecords, Position, Reader, Record
from textbatch.readers.registry import FORMATS, SUFFIXES, detect_format, get_reader, read_records

__all__ = [
    "FORMATS",
    "SUFFIXES",
    "BadRecords",
    "Position",
    "Reader",
    "Record",
    "detect_format",
    "get_reader",
    "read_records",
]
