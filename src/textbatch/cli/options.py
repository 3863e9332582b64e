"""Flag -> config conversions shared by the commands (one place, so flags mean one thing)."""

from __future__ import annotations

from textbatch.config import ReadConfig


def column(value: str) -> str | int:
    """A CSV/TSV column flag: a 0-based index when it is a number, else a header name."""
    return int(value) if value.isdigit() else value


def read_config_from_flags(
    format: str | None,
    text_columns: list[str],
    label_column: str | None,
    text_field: str,
    label_field: str,
    on_bad_records: str,
) -> ReadConfig:
    """The ReadConfig the read flags describe (validated by ReadConfig itself)."""
    return ReadConfig(
        format=format,
        text_columns=tuple(column(c) for c in text_columns),
        label_column=None if label_column is None else column(label_column),
        text_field=text_field,
        label_field=label_field,
        on_bad_records=on_bad_records,  # type: ignore[arg-type]
    )
