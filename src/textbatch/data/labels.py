"""Class names <-> integer ids, fixed once from the training data and saved with every model.

The order is the reader's declared order when the format has one (Zhang's ``classes.txt``), else
the natural order of the labels seen: numeric when every label is an integer (so "2" < "10"),
otherwise sorted as strings. Ids never depend on the order records happen to arrive in.

A multi-label set (``multilabel=True``: records carry any number of the classes) encodes records
as 0/1 indicator rows (uint8 [n, num_classes], scikit-learn's ``MultiLabelBinarizer`` layout)
instead of one id each; the flag is saved with the names, so a saved model knows its task.
"""

from __future__ import annotations

import json
from typing import Iterable, Sequence

import numpy as np

from textbatch.errors import ConfigError, DataError


def _natural_order(labels: Iterable[str]) -> list[str]:
    """Numeric order when every label parses as an integer, else string order."""
    unique = set(labels)
    try:
        return sorted(unique, key=int)
    except ValueError:
        return sorted(unique)


class LabelSet:
    """An ordered list of class names; a name's id is its index."""

    def __init__(self, names: Sequence[str], multilabel: bool = False) -> None:
        names = [str(n) for n in names]
        if len(set(names)) != len(names):
            raise ConfigError(f"Class names must be unique. Got {names}.")
        self.names: tuple[str, ...] = tuple(names)
        self.multilabel = bool(multilabel)
        self._ids = {name: i for i, name in enumerate(self.names)}

    @classmethod
    def from_labels(
        cls, labels: Iterable[str], declared: Sequence[str] | None = None,
        multilabel: bool = False
    ) -> "LabelSet":
        """The declared order when given (a reader's ``classes()``), else the natural order."""
        names = list(declared) if declared is not None else _natural_order(labels)
        return cls(names, multilabel)

    def as_multilabel(self, multilabel: bool = True) -> "LabelSet":
        """The same names with the task changed (``--task``, or detected from the manifest)."""
        return LabelSet(self.names, multilabel)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self._ids

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, LabelSet) and self.names == other.names
                and self.multilabel == other.multilabel)

    def __repr__(self) -> str:
        flag = ", multilabel=True" if self.multilabel else ""
        return f"LabelSet({list(self.names)!r}{flag})"

    def id(self, name: str | None, path: str = "<unknown>", line: int | None = None) -> int:
        """The id of ``name``; an unknown or missing label is a DataError naming file and line."""
        try:
            return self._ids[name]  # type: ignore[index]
        except KeyError:
            reason = (f"label {name!r} was not seen in training (known: {list(self.names)})"
                      if name is not None else "record has no label")
            raise DataError(path, line, reason,
                            hint="Use the same classes in validation/test data as in training.")

    def record_id(self, record) -> int:
        """The id of a single-label ``Record``; one with several labels is a DataError here
        (a single-label model would silently learn only its first label)."""
        if record.labels is not None:
            raise DataError(record.path, record.line, f"record has {len(record.labels)} labels "
                            f"{list(record.labels)}, but the task is single-label",
                            hint="Train with --task multilabel (or --task auto).")
        return self.id(record.label, record.path, record.line)

    def encode(self, records: Sequence) -> np.ndarray:
        """Labels of ``Record`` objects, in order: int64 ids [n], or for a multi-label set
        uint8 indicator rows [n, num_classes]."""
        if not self.multilabel:
            return np.fromiter((self.record_id(r) for r in records), dtype=np.int64)
        out = np.zeros((len(records), len(self.names)), np.uint8)
        for row, record in enumerate(records):
            names = record.label_names or (None,)
            out[row, [self.id(name, record.path, record.line) for name in names]] = 1
        return out

    def to_json(self) -> str:
        data: dict = {"classes": list(self.names)}
        if self.multilabel:  # single-label files stay as they always were
            data["multilabel"] = True
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> "LabelSet":
        data = json.loads(text)
        return cls(data["classes"], bool(data.get("multilabel", False)))
