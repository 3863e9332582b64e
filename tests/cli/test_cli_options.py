"""The shared read flags: one declaration, the same flags and defaults on every command."""

from __future__ import annotations

import importlib

import typer
from typer.testing import CliRunner

from textbatch.cli.app import app as textbatch_app
from textbatch.cli.options import READ_FLAGS, with_read_flags
from textbatch.config import ReadConfig

for _name in ("explore", "vectorize"):  # each module registers its command on the app
    importlib.import_module(f"textbatch.cli.{_name}")

FLAG_NAMES = ["--format", "--text-column", "--label-column", "--text-field", "--label-field",
              "--on-bad-records", "--label-separator",
              "--allow-multiline"]


def _probe_app() -> tuple[typer.Typer, list[ReadConfig]]:
    """A one-command app that records the ReadConfig it receives."""
    app = typer.Typer()
    received: list[ReadConfig] = []

    @app.command()
    @with_read_flags
    def probe(data: str = typer.Argument(...), limit: int = typer.Option(3, "--limit"),
              read_config: ReadConfig = None) -> None:  # type: ignore[assignment]
        received.append(read_config)
        typer.echo(f"{data} {limit}")

    return app, received


def test_defaults_give_the_default_read_config():
    app, received = _probe_app()
    result = CliRunner().invoke(app, ["x.csv"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "x.csv 3"
    assert received == [ReadConfig()]


def test_flags_reach_the_read_config_and_own_flags_still_work():
    app, received = _probe_app()
    result = CliRunner().invoke(app, [
        "x.csv", "--limit", "5", "--format", "csv", "--text-column", "title",
        "--text-column", "2", "--label-column", "0", "--text-field", "body",
        "--label-field", "y", "--on-bad-records", "skip", "--label-separator", "|"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "x.csv 5"
    assert received == [ReadConfig(format="csv", text_columns=("title", 2), label_column=0,
                                   text_field="body", label_field="y", on_bad_records="skip",
                                   label_separator="|")]


def test_explore_and_vectorize_take_every_read_flag():
    names = {name for name, _, _ in READ_FLAGS}
    assert names == {"format", "text_column", "label_column", "text_field", "label_field",
                     "on_bad_records", "label_separator",
                     "allow_multiline"}
    for command in ("explore", "vectorize"):
        result = CliRunner().invoke(textbatch_app, [command, "--help"], terminal_width=200)
        assert result.exit_code == 0, result.output
        for flag in FLAG_NAMES:
            assert flag in result.output, (command, flag)
        assert "--read-config" not in result.output


def test_help_imports_neither_torch_nor_rich() -> None:
    """``textbatch --help`` stays fast (issue 12: <= 0.5 s): no torch, pyarrow or rich import."""
    import subprocess
    import sys

    code = ("import sys\nfrom textbatch.cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'rich', 'pyarrow', 'matplotlib') "
            "if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
