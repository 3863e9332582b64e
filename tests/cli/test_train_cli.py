"""Flags and TOML become one RunConfig: defaults < TOML < flags, one flag per field."""

from __future__ import annotations

import dataclasses

import pytest
from typer.testing import CliRunner

from textbatch.cli.app import app
from textbatch.cli.main import _register_commands
from textbatch.cli.train import SECTIONS, build_run_config
from textbatch.config import RunConfig
from textbatch.errors import ConfigError


def test_no_flags_gives_the_default_config_and_auto_model() -> None:
    config, model, kind, given = build_run_config({}, None)
    assert config == RunConfig() and model == "auto" and kind is None


def test_toml_is_overridden_by_flags(tmp_path) -> None:
    path = tmp_path / "run.toml"
    path.write_text('[train]\nepochs = 3\nlearning_rate = 0.01\n[vectorize]\n'
                    'ngram_range = [1, 3]\n[model]\nname = "sepcnn"\n')
    config, model, _, given = build_run_config({"epochs": 5, "top_k": 100}, path)
    assert config.train.epochs == 5 and config.train.learning_rate == 0.01
    assert config.vectorize.ngram_range == (1, 3) and config.vectorize.top_k == 100
    assert model == "sepcnn"


def test_bad_toml_section_and_ngram_range_are_config_errors(tmp_path) -> None:
    path = tmp_path / "run.toml"
    path.write_text("[optimizer]\nlr = 1\n")
    with pytest.raises(ConfigError, match="unknown sections"):
        build_run_config({}, path)
    with pytest.raises(ConfigError, match="MIN,MAX"):
        build_run_config({"ngram_range": "1-2"}, None)


def test_every_config_field_has_a_flag() -> None:
    _register_commands()
    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "300"})
    renamed = {"name": "--model", "kind": "--vectorizer"}
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            if f.name in ("num_features", "num_classes"):
                continue
            flag = renamed.get(f.name, "--" + f.name.replace("_", "-"))
            assert flag in result.output, flag


def test_invalid_flag_value_exits_with_one_line_error(tmp_path, capsys) -> None:
    from textbatch.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(tmp_path / "x.csv"), "--out", str(tmp_path / "o"), "--epochs", "0"])
    assert exit_info.value.code == 1
    assert "epochs must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "vectorize", "explore", "evaluate", "predict", "tune"])
def test_every_option_of_the_data_commands_says_what_it_does_and_its_default(command) -> None:
    """--help is product text: each option has words and, unless it is an on/off switch or
    required, its default (in the words, not a bare ``[default: X]``)."""
    _register_commands()
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "1000"})
    options: list[list[str]] = []
    for line in result.output.split("Options:", 1)[1].splitlines():
        if line.startswith("  -"):  # an option; its wrapped words are indented deeper
            options.append(line.strip().split("  ", 1))
        elif options and line.strip():
            options[-1].append(line.strip())
    assert len(options) > 3
    for flag, *rest in options:
        words = " ".join(rest).strip()
        assert len(words) > 12, f"{command} {flag}: no description"
        switch = flag in ("--json", "--help", "--force") or "<" not in flag
        assert switch or "required" in words or "default" in words.lower(), f"{command} {flag}: {words}"
        assert "[default:" not in words, f"{command} {flag}: bare default"
