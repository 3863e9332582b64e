"""Entry point: ``textbatch ...`` and ``python -m textbatch ...``."""

from __future__ import annotations

import importlib
import sys

import typer

from textbatch.cli.app import app
from textbatch.errors import TextbatchError

# One module per command; each registers itself on ``app`` when imported.
COMMAND_MODULES = ("explore", "vectorize", "train", "tune", "evaluate", "predict")


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(f"textbatch.cli.{name}")
        except ModuleNotFoundError as exc:  # a command not written yet must not break the others
            if exc.name != f"textbatch.cli.{name}":
                raise


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors print one line on stderr and exit 1."""
    _register_commands()
    try:
        app(args=argv)
    except TextbatchError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
