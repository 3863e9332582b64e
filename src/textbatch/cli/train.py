"""``textbatch train TRAIN... --out DIR``: one flag per config field (kebab case), ``--config
FILE.toml`` for a file of them. Precedence: built-in defaults < the TOML file < flags.

The flags are generated from the config dataclasses, so a new config field is a new flag with no
second list to keep in sync. Three fields take the guide's user-facing names: ``ModelConfig.name``
is ``--model`` (with ``auto``), ``VectorizeConfig.kind`` is ``--vectorizer``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import typing
from pathlib import Path
from typing import Any, Optional

import typer

from textbatch.cli.app import app
from textbatch.cli.options import parse_ngram_range
from textbatch.config import (
    ModelConfig,
    ReadConfig,
    RunConfig,
    StreamConfig,
    TrainConfig,
    VectorizeConfig,
)
from textbatch.cli.flag_help import FLAG_HELP
from textbatch.errors import ConfigError
from textbatch.pipeline import model_help, vectorizer_help

SECTIONS = {"read": ReadConfig, "stream": StreamConfig, "vectorize": VectorizeConfig,
            "model": ModelConfig, "train": TrainConfig}
RENAMED = {("model", "name"): "model", ("vectorize", "kind"): "vectorizer"}
FILLED_FROM_DATA = {("model", "num_features"), ("model", "num_classes")}


def _flag_fields() -> list[tuple[str, str, dataclasses.Field]]:
    """(section, python parameter name, field) for every flag."""
    out = []
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            if (section, f.name) not in FILLED_FROM_DATA:
                out.append((section, RENAMED.get((section, f.name), f.name), f))
    return out


def _option(section: str, param: str, f: dataclasses.Field) -> tuple[Any, Any]:
    """(annotation, typer.Option) for one config field; every default is None = not given."""
    flag = "--" + param.replace("_", "-")
    default = f.default if f.default is not dataclasses.MISSING else None
    hint = f.metadata.get("help") or FLAG_HELP.get((section, f.name)) or (
        f"{section} setting; default: {default!r}")
    hints = typing.get_type_hints(SECTIONS[section])
    kind = hints[f.name]
    if kind is bool or kind == Optional[bool]:
        no = "--no-" + param.replace("_", "-")
        return Optional[bool], typer.Option(None, f"{flag}/{no}", help=hint)
    if param == "text_columns":
        return Optional[list[str]], typer.Option(None, flag, "--text-column",
                                                 help=f"{hint} (repeatable)")
    if param == "ngram_range":
        return Optional[str], typer.Option(None, flag, help=f"{hint}, as MIN,MAX")
    if kind is int:
        return Optional[int], typer.Option(None, flag, help=hint)
    if kind is float:
        return Optional[float], typer.Option(None, flag, help=hint)
    if param == "model":
        hint = model_help()
    if param == "task":
        hint = ("single | multilabel | auto: multilabel (a sigmoid and binary cross-entropy per "
                "label) when any training record has several labels, announced in the log; "
                "default: auto")
    if param == "vectorizer":
        hint = vectorizer_help()
    return Optional[str], typer.Option(None, flag, help=hint)


def build_run_config(flags: dict[str, Any], toml_file: Path | None) -> tuple[
        RunConfig, str, str | None, frozenset[str]]:
    """RunConfig from defaults < TOML < flags; returns (config, model choice, vectorizer kind,
    the ``section.field`` names the user gave, which per-model defaults must not replace)."""
    data = load_toml(toml_file) if toml_file else {}
    sections = {name: dict(data.get(name, {})) for name in SECTIONS}
    for section, param, f in _flag_fields():
        value = flags.get(param)
        if value is None:
            continue
        if param == "ngram_range":
            value = parse_ngram_range(value)
        elif param == "label_column" and str(value).isdigit():
            value = int(value)
        elif param == "text_columns":
            value = [int(v) if v.isdigit() else v for v in value]
        sections[section][f.name] = value
    given = frozenset(f"{name}.{key}" for name, values in sections.items() for key in values)
    model = sections["model"].pop("name", "auto")
    kind = sections["vectorize"].pop("kind", None)
    config = RunConfig.from_dict(sections)
    return config, model, kind, given


def load_toml(path: Path) -> dict[str, Any]:
    """The config file's tables: the five config sections and ``tune`` (read by ``textbatch
    tune``, ignored by ``train``, so one file serves both)."""
    import tomllib

    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc}).") from None
    unknown = sorted(set(data) - set(SECTIONS) - {"tune"})
    if unknown:
        raise ConfigError(f"{path}: unknown sections {unknown}. "
                          f"Known: {sorted([*SECTIONS, 'tune'])}.")
    return data


def train_command(train: list[str], out: Path, val: list[str], test: list[str],
                  config: Optional[Path], verbose: int, resume: bool = False,
                  overwrite: bool = False, **flags: Any) -> None:
    """Train a classifier: vectorize once into a cache under OUT, stream it for every epoch,
    keep the best epoch's weights, and write model/, metrics.json, history.csv, report.json
    and plots/ into OUT. Re-running the command on the same OUT resumes from its last
    checkpoint (see docs/RESUME.md)."""
    from textbatch.pipeline import TrainingInterrupted, TrainRequest, is_rank_zero
    from textbatch.pipeline import train as run_train

    if resume and overwrite:
        raise ConfigError("Pass --resume or --overwrite, not both.")

    run_config, model, kind, given = build_run_config(flags, config)
    request = TrainRequest(train=train, out=out, config=run_config, val=val or [],
                           test=test or [], model=model, vectorizer=kind, verbose=verbose,
                           resume=resume, overwrite=overwrite, given=given)
    try:
        metrics = run_train(request)
    except TrainingInterrupted as exc:  # checkpoint written: 130 (SIGINT) / 143 (SIGTERM)
        typer.echo(str(exc), err=True)
        raise typer.Exit(exc.exit_code) from None
    if is_rank_zero():  # under torchrun, one copy of the metrics
        typer.echo(json.dumps(metrics, indent=2))


TRAIN_FLAGS = [
    ("train", list[str], typer.Argument(..., help="Training files, globs, folders or URLs.")),
    ("out", Path, typer.Option(..., "--out", help="Output directory of the run.")),
    ("val", Optional[list[str]], typer.Option(None, "--val", help="Validation data "
     "(repeatable); default: a stable-hash split of TRAIN (--val-fraction).")),
    ("test", Optional[list[str]], typer.Option(None, "--test", help="Test data, scored "
     "once at the end (repeatable). Default: none.")),
    ("config", Optional[Path], typer.Option(None, "--config", help="TOML file with "
     "read, stream, vectorize, model and train tables; flags override it. Default: none.")),
    ("verbose", int, typer.Option(2, "--verbose", help="0 silent, 1 progress bar, "
     "2 one line per epoch. Default: 2.", show_default=False)),
    ("resume", bool, typer.Option(False, "--resume", help="Continue from the last "
     "checkpoint in OUT (fails if there is none). Without it a run still resumes when OUT "
     "holds a checkpoint of the same data and settings.")),
    ("overwrite", bool, typer.Option(False, "--overwrite", help="Delete OUT's checkpoints "
     "and start training over.")),
]


def config_flag_params() -> list[inspect.Parameter]:
    """One keyword parameter (a typer option) per config field, for every command that takes
    the run settings as flags (``train``, ``tune``)."""
    P = inspect.Parameter
    params = []
    for section, name, f in _flag_fields():
        annotation, option = _option(section, name, f)
        params.append(P(name, P.KEYWORD_ONLY, default=option, annotation=annotation))
    return params


def register_command(name: str, handler: Any, fixed: list[tuple[str, Any, Any]]) -> None:
    """Register ``handler`` as ``textbatch NAME`` with the ``fixed`` (name, annotation, typer
    parameter) flags followed by one flag per config field; the config flags reach ``handler``
    as ``**flags`` (see ``build_run_config``)."""
    P = inspect.Parameter
    params = [P(n, P.KEYWORD_ONLY, default=d, annotation=a) for n, a, d in fixed]
    names = [n for n, _, _ in fixed]

    def command(**kwargs: Any) -> None:
        handler(**{k: kwargs.pop(k) for k in names}, **kwargs)

    command.__signature__ = inspect.Signature(params + config_flag_params())  # type: ignore
    command.__annotations__ = {p.name: p.annotation
                               for p in command.__signature__.parameters.values()}
    command.__doc__ = handler.__doc__
    app.command(name=name)(command)


register_command("train", train_command, TRAIN_FLAGS)
