"""The Typer application every command module registers on.

Commands live one per module in ``textbatch.cli`` (``explore.py``, ``train.py``, ...), each a thin
adapter: parse flags -> build config -> call the library. A ``TextbatchError`` becomes one line on
stderr and exit code 1; anything else keeps its traceback because it is a bug.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="textbatch",
    help="Train text classifiers on data sets larger than memory, streaming batches from disk.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: importing rich costs more than the whole --help
)
