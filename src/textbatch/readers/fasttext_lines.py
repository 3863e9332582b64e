"""One record per line with the label in front: fastText's ``__label__pos some text`` and the
plain ``label text`` lines of Kim (2014)'s SST-2 files (``1 a stirring , funny ...``).

A fastText line with several labels is a *bad record* (kind ``multiple_labels``), not silently
cut to its first label: textbatch trains single-label classifiers, and dropping labels would
change the task without telling anyone. Skip such lines with ``--on-bad-records skip``.
"""

from __future__ import annotations

import re
from typing import Iterator

from textbatch.config import ReadConfig
from textbatch.readers.base import BadRecords, Position, Record
from textbatch.readers.lines import Lines

LABEL_PREFIX = "__label__"
_LABEL = re.compile(r"__label__(\S*)\s*")


class _LineReader:
    name = ""

    def __init__(self, config: ReadConfig | None = None, labelled: bool = True) -> None:
        self.config = config or ReadConfig()
        self.labelled = labelled

    def classes(self, shard: str) -> list[str] | None:
        return None

    def read(
        self, shard: str, bad: BadRecords, start: Position | None = None
    ) -> Iterator[tuple[Position, Record]]:
        lines = Lines(shard, bad, start)
        path = lines.path
        for offset, line, text in lines.numbered():
            text = text.rstrip("\r\n")
            if not text or text.isspace():
                continue
            parsed = self.parse(text)
            if isinstance(parsed, str):
                bad.handle(path, line, parsed, _kind(parsed))
                continue
            label, body = parsed
            if not body or body.isspace():
                bad.handle(path, line, "empty text", "empty_text")
                continue
            if label is None and self.labelled:
                bad.handle(path, line, "missing label", "missing_label")
                continue
            yield Position(offset, line), Record(body, label, path, line)

    def parse(self, text: str) -> tuple[str | None, str] | str:
        """``(label, text)``, or the reason the line is bad."""
        raise NotImplementedError


def _kind(reason: str) -> str:
    return "multiple_labels" if reason.startswith("several labels") else "missing_label"


class FastTextReader(_LineReader):
    """``__label__x text`` lines (see the module docstring for lines with several labels)."""

    name = "fasttext"

    def parse(self, text: str) -> tuple[str | None, str] | str:
        labels = []
        position = 0
        while (match := _LABEL.match(text, position)) is not None:
            labels.append(match.group(1))
            position = match.end()
        if len(labels) > 1:
            return f"several labels {labels} on one line (textbatch is single-label)"
        if labels and not labels[0]:
            return "missing label (empty __label__)"
        return (labels[0] if labels else None), text[position:]


class LabelTextReader(_LineReader):
    """``label text`` lines: the label is everything before the first space."""

    name = "label-text"

    def parse(self, text: str) -> tuple[str | None, str] | str:
        label, _, body = text.partition(" ")
        if not label:
            return "missing label (the line starts with a space)"
        return label, body
