"""JSON Lines: one object per line, text and label under ``ReadConfig.text_field`` /
``label_field``. A label may be a string or a number (kept as its string: 1 -> "1"), or a JSON
array of them for multi-label data (``["joy", "love"]``)."""

from __future__ import annotations

import json
from textbatch.readers.base import BadRecords, Record
from textbatch.readers.lines import LineRecordReader


class JsonlReader(LineRecordReader):
    """Reads JSON Lines; blank lines are passed over (they hold no record)."""

    name = "jsonl"

    def line_record(self, text: str, path: str, line: int, bad: BadRecords) -> Record | None:
        try:
            obj = json.loads(text)
        except ValueError as exc:
            bad.handle(path, line, f"invalid JSON: {exc}", "invalid_json")
            return None
        if not isinstance(obj, dict):
            bad.handle(path, line, f"expected a JSON object, got {type(obj).__name__}",
                       "invalid_json")
            return None
        field, label_field = self.config.text_field, self.config.label_field
        value = obj.get(field)
        if not isinstance(value, str):
            what = "missing" if value is None else f"not a string ({type(value).__name__})"
            bad.handle(path, line, f"field {field!r} is {what}", "missing_column")
            return None
        if not value or value.isspace():
            bad.handle(path, line, "empty text", "empty_text")
            return None
        label = label_value(obj.get(label_field))
        if label is _INVALID or label == "" or (label is None and self.labelled):
            bad.handle(path, line, f"missing or invalid label in field {label_field!r}",
                       "missing_label")
            return None
        return self.record(value, label, path, line, bad)


_INVALID = object()


def label_value(label: object) -> object:
    """A JSON/Parquet label as a class name, a list of them (an array), None, or ``_INVALID``
    (an object, or an array holding anything but strings and numbers)."""
    if isinstance(label, (list, tuple)):
        if any(isinstance(item, (dict, list, tuple)) or item is None for item in label):
            return _INVALID
        return [label_str(item) for item in label]
    if isinstance(label, dict):
        return _INVALID
    return label_str(label)


def label_str(label: object) -> str | None:
    """A label value as its class name: 1 -> "1", 1.0 -> "1", True -> "1"."""
    if label is None or isinstance(label, str):
        return label  # type: ignore[return-value]
    if isinstance(label, bool):
        return str(int(label))
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label)
