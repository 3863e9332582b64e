"""What every reader yields, and how bad records are handled.

A reader turns one shard (a file, a URL, or a folder tree) into ``Record`` objects, in file
order, and reports where each record starts (``Position``) so that the data layer can later seek
straight to a block of records instead of replaying the file. Readers own parsing only; counting,
shuffling and splitting belong to ``textbatch.data``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator, Literal, Protocol, Sequence

from textbatch.config import ReadConfig
from textbatch.errors import DataError

OnBadRecords = Literal["error", "skip"]


@dataclass(frozen=True, slots=True)
class Record:
    """One labelled text. ``label`` is the class *name* (a string) or None when unlabelled;
    ``line`` is the 1-based line (row, or file index for folders) where the record starts.

    A record with several labels (multi-label data) has them all, in file order and without
    repeats, in ``labels``, and the first of them in ``label``; ``labels`` is None when there is
    one label or none, so single-label code that reads ``label`` sees what it always did and
    can tell a multi-label record by ``labels is not None``."""

    text: str
    label: str | None
    path: str
    line: int
    labels: tuple[str, ...] | None = None

    @property
    def label_names(self) -> tuple[str, ...]:
        """Every label of the record: ``labels``, or ``(label,)``, or () when unlabelled."""
        if self.labels is not None:
            return self.labels
        return () if self.label is None else (self.label,)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a record starts, in the reader's own units: ``offset`` is a byte offset into the
    (decompressed) stream for line-based formats, a row index for Parquet, a file index for folder
    trees; ``line`` is the 1-based line number to resume counting from."""

    offset: int
    line: int


@dataclass
class BadRecords:
    """Applies the ``--on-bad-records`` policy: raise a DataError, or skip and count by reason."""

    policy: OnBadRecords = "error"
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.policy not in ("error", "skip"):
            from textbatch.errors import ConfigError

            raise ConfigError(
                f"on_bad_records must be 'error' or 'skip'. Got {self.policy!r} instead."
            )

    def handle(self, path: str, line: int | None, reason: str, kind: str) -> None:
        """Raise (policy ``error``) or count under ``kind`` (policy ``skip``)."""
        if self.policy == "error":
            raise DataError(path, line, reason)
        self.counts[kind] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class Reader(Protocol):
    """A format. ``read`` yields ``(position, record)`` pairs in file order, starting at ``start``
    (a Position previously yielded by the same reader for the same shard) or at the beginning."""

    name: str

    def read(
        self, shard: str, bad: BadRecords, start: Position | None = None
    ) -> Iterator[tuple[Position, Record]]: ...

    def classes(self, shard: str) -> list[str] | None:
        """Class names in label-id order when the format declares them (Zhang's classes.txt),
        else None (labels are then ordered naturally: numerically if all are integers)."""
        ...


class ReaderBase:
    """What the readers share: the read settings, whether a label is required, and no declared
    class list (a format that declares one, like Zhang's classes.txt, overrides ``classes``)."""

    name = ""

    def __init__(self, config: ReadConfig | None = None, labelled: bool = True) -> None:
        self.config = config or ReadConfig()
        self.labelled = labelled

    def classes(self, shard: str) -> list[str] | None:
        return None

    def record(
        self, text: str, label: str | Sequence[str] | None, path: str, line: int,
        bad: BadRecords
    ) -> Record | None:
        """The record, or None after ``bad`` took an empty text or a missing label (an empty
        label is a missing one; without ``labelled`` it becomes None).

        ``label`` may be a list of labels (fastText lines, JSON arrays), and a string is split
        on ``label_separator`` when one is configured (a CSV/TSV label column)."""
        if not text or text.isspace():
            bad.handle(path, line, "empty text", "empty_text")
            return None
        separator = self.config.label_separator
        if isinstance(label, str) and separator is not None and label != "":
            label = label.split(separator)
        if isinstance(label, (list, tuple)):
            return self._multi(text, label, path, line, bad)
        if label is None or label == "":
            if self.labelled:
                bad.handle(path, line, "missing label", "missing_label")
                return None
            label = None
        return Record(text, label, path, line)

    def _multi(self, text: str, labels: Sequence[str], path: str, line: int,
               bad: BadRecords) -> Record | None:
        """A record from a list of labels: stripped, repeats dropped, none of them empty."""
        names = [name.strip() for name in labels]
        if not names:
            if not self.labelled:
                return Record(text, None, path, line)
            bad.handle(path, line, "empty label list (a record needs at least one label)",
                       "empty_label_list")
            return None
        if any(not name for name in names):
            bad.handle(path, line, f"empty label in {list(labels)!r} (a separator at an end, "
                       "or two in a row?)", "empty_label")
            return None
        unique = tuple(dict.fromkeys(names))
        return Record(text, unique[0], path, line, unique if len(unique) > 1 else None)
