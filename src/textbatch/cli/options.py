"""Flag -> config conversions shared by the commands (one place, so flags mean one thing).

The read flags (``--format``, ``--text-column``, ...) are declared once, in ``READ_FLAGS``, and
added to a command by ``with_read_flags``, which hands the command one ``read_config``: a second
copy of the list in every command would drift (``train`` generates its flags from the configs).
"""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any, Callable, Optional

import typer

from textbatch.cli.flag_help import FLAG_HELP
from textbatch.config import ReadConfig
from textbatch.errors import ConfigError

# (parameter name, annotation, typer.Option): the flags that describe how to read the data.
READ_FLAGS: tuple[tuple[str, Any, Any], ...] = (
    ("format", Optional[str],
     typer.Option(None, "--format", help=FLAG_HELP[("read", "format")], show_default=False)),
    ("text_column", list[str],
     typer.Option([], "--text-column", show_default=False,
                  help=FLAG_HELP[("read", "text_columns")] + " Repeatable.")),
    ("label_column", Optional[str],
     typer.Option(None, "--label-column", help=FLAG_HELP[("read", "label_column")],
                  show_default=False)),
    ("text_field", str, typer.Option("text", "--text-field", show_default=False,
                                     help=FLAG_HELP[("read", "text_field")])),
    ("label_field", str,
     typer.Option("label", "--label-field", help=FLAG_HELP[("read", "label_field")],
                  show_default=False)),
    ("on_bad_records", str,
     typer.Option("error", "--on-bad-records", help=FLAG_HELP[("read", "on_bad_records")],
                  show_default=False)),
    ("label_separator", Optional[str],
     typer.Option(None, "--label-separator", help="CSV/TSV: the label column holds several "
                  "labels joined by this string (e.g. '|' or ','; quote a CSV field when it is "
                  "','). Default: one label per row. fastText lines and JSON arrays need none.")),
    ("allow_multiline", bool,
     typer.Option(False, "--allow-multiline",
                  help="CSV: accept quoted fields that run over more than 32 lines or 1 MiB "
                       "(real multi-paragraph texts); without it such a field is reported as "
                       "an unclosed quote. Default: off.")),
)


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
    label_separator: str | None = None,
    allow_multiline: bool = False,
) -> ReadConfig:
    """The ReadConfig the read flags describe (validated by ReadConfig itself)."""
    return ReadConfig(
        format=format,
        text_columns=tuple(column(c) for c in text_columns),
        label_column=None if label_column is None else column(label_column),
        text_field=text_field,
        label_field=label_field,
        on_bad_records=on_bad_records,  # type: ignore[arg-type]
        label_separator=label_separator,
        allow_multiline=allow_multiline,
    )


def with_read_flags(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with the ``READ_FLAGS`` appended to its flags; it receives their values as
    one ``read_config: ReadConfig`` parameter (which it must declare, and which is not a flag).
    Apply it below ``@app.command()``."""
    hints = typing.get_type_hints(command)
    P = inspect.Parameter
    params = [p.replace(annotation=hints[p.name])
              for p in inspect.signature(command).parameters.values() if p.name != "read_config"]
    params += [P(name, P.KEYWORD_ONLY, default=option, annotation=annotation)
               for name, annotation, option in READ_FLAGS]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        flags = [kwargs.pop(name) for name, _, _ in READ_FLAGS]
        return command(*args, read_config=read_config_from_flags(*flags), **kwargs)

    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def parse_ngram_range(value: str | list) -> list[int]:
    """``MIN,MAX`` (or a two-item list from TOML) as [MIN, MAX]; a clear error otherwise."""
    parts = value if isinstance(value, list) else str(value).split(",")
    try:
        lo, hi = (int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"--ngram-range must be MIN,MAX (e.g. 1,2). Got {value!r}.") from None
    return [lo, hi]
