"""Class names <-> integer ids, fixed once from the training data and saved with every model.

The order is the reader's declared order when the format has one (Zhang's ``classes.txt``), else
the natural order of the labels seen: numeric when every label is an integer (so "2" < "10"),
otherwise sorted as strings. Ids never depend on the order records happen to arrive in.
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

    def __init__(self, names: Sequence[str]) -> None:
        names = [str(n) for n in names]
        if len(set(names)) != len(names):
            raise ConfigError(f"Class names must be unique. Got {names}.")
        self.names: tuple[str, ...] = tuple(names)
        self._ids = {name: i for i, name in enumerate(self.names)}

    @classmethod
    def from_labels(
        cls, labels: Iterable[str], declared: Sequence[str] | None = None
    ) -> "LabelSet":
        """The declared order when given (a reader's ``classes()``), else the natural order."""
        return cls(list(declared) if declared is not None else _natural_order(labels))

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self._ids

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelSet) and self.names == other.names

    def __repr__(self) -> str:
        return f"LabelSet({list(self.names)!r})"

    def id(self, name: str | None, path: str = "<unknown>", line: int | None = None) -> int:
        """The id of ``name``; an unknown or missing label is a DataError naming file and line."""
        try:
            return self._ids[name]  # type: ignore[index]
        except KeyError:
            reason = (f"label {name!r} was not seen in training (known: {list(self.names)})"
                      if name is not None else "record has no label")
            raise DataError(path, line, reason,
                            hint="Use the same classes in validation/test data as in training.")

    def encode(self, records: Iterable) -> np.ndarray:
        """Label ids (int64) of ``Record`` objects, in order."""
        return np.fromiter((self.id(r.label, r.path, r.line) for r in records), dtype=np.int64)

    def to_json(self) -> str:
        return json.dumps({"classes": list(self.names)})

    @classmethod
    def from_json(cls, text: str) -> "LabelSet":
        return cls(json.loads(text)["classes"])
