"""One record per line with the label in front: fastText's ``__label__pos some text`` and the
plain ``label text`` lines of Kim (2014)'s SST-2 files (``1 a stirring , funny ...``).

A fastText line may carry several labels (``__label__joy __label__love some text``): the record
then has them all (``Record.labels``), as fastText's ``-loss ova`` reads them. Whether the data
set is then trained as multi-label is decided from the manifest (``--task``), never by cutting a
line to its first label.
"""

from __future__ import annotations

import re
from textbatch.readers.base import BadRecords, Record
from textbatch.readers.lines import LineRecordReader

LABEL_PREFIX = "__label__"
_LABEL = re.compile(r"__label__(\S*)\s*")


class _LineReader(LineRecordReader):
    def line_record(self, text: str, path: str, line: int, bad: BadRecords) -> Record | None:
        parsed = self.parse(text.rstrip("\r\n"))
        if isinstance(parsed, str):
            bad.handle(path, line, parsed, _kind(parsed))
            return None
        label, body = parsed
        return self.record(body, label, path, line, bad)

    def parse(self, text: str) -> tuple[str | list[str] | None, str] | str:
        """``(label or labels, text)``, or the reason the line is bad."""
        raise NotImplementedError


def _kind(reason: str) -> str:
    return "missing_label"


class FastTextReader(_LineReader):
    """``__label__x text`` lines (see the module docstring for lines with several labels)."""

    name = "fasttext"

    def parse(self, text: str) -> tuple[str | list[str] | None, str] | str:
        labels = []
        position = 0
        while (match := _LABEL.match(text, position)) is not None:
            labels.append(match.group(1))
            position = match.end()
        if any(not label for label in labels):
            return "missing label (empty __label__)"
        if len(labels) > 1:
            return labels, text[position:]
        return (labels[0] if labels else None), text[position:]


class LabelTextReader(_LineReader):
    """``label text`` lines: the label is everything before the first space."""

    name = "label-text"

    def parse(self, text: str) -> tuple[str | None, str] | str:
        label, _, body = text.partition(" ")
        if not label:
            return "missing label (the line starts with a space)"
        return label, body
