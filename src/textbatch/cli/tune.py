"""``textbatch tune TRAIN... --out DIR``: the guide's tuning step. The run settings are
``train``'s flags (and ``--config`` tables); the search is ``--grid``, ``--search``,
``--trials``, ``--time-budget``, ``--metric`` or the TOML ``[tune]`` table (flags win):

    [tune]
    search = "grid"
    time_budget = "10m"
    [tune.grid]
    layers = [1, 2, 3]
    units = [8, 16, 32, 64, 128]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from textbatch.cli.train import build_run_config, load_toml, register_command
from textbatch.errors import ConfigError

TUNE_KEYS = {"grid", "search", "trials", "time_budget", "metric", "prune"}


def tune_command(train: list[str], out: Path, val: list[str], test: list[str],
                 config: Optional[Path], verbose: int, grid: list[str], search: Optional[str],
                 trials: Optional[int], time_budget: Optional[str], metric: Optional[str],
                 prune: Optional[bool], overwrite: bool, **flags: Any) -> None:
    """Tune a classifier: vectorize once, train one model per trial on the same cache, score
    each on validation, keep the best. Writes trials.csv/.jsonl, plots/tune.png, model/ (the
    best trial's, for evaluate and predict), best.toml (for train --config) and report.json
    into OUT. Re-running the same command continues a killed search; finished trials are kept."""
    from textbatch.pipeline import TrainRequest, TuneRequest, parse_duration, run_tune

    run_config, model, kind, given = build_run_config(flags, config)
    table = _tune_table(config)
    job = TrainRequest(train=train, out=out, config=run_config, val=val or [], test=test or [],
                       model=model, vectorizer=kind, verbose=verbose, overwrite=overwrite,
                       given=given)
    request = TuneRequest(
        job=job, grid=grid or [], grid_table=table.get("grid"),
        search=search or table.get("search", "grid"), trials=trials or table.get("trials"),
        time_budget=parse_duration(time_budget or table.get("time_budget")),
        metric=metric or table.get("metric", "val_loss"),
        prune=table.get("prune", True) if prune is None else prune)
    report = run_tune(request)
    typer.echo(json.dumps({k: report[k] for k in ("num_trials", "states", "skipped_by_budget",
                                                  "vectorizer_fits", "best")}, indent=2,
                          default=float))


def _tune_table(config: Optional[Path]) -> dict[str, Any]:
    """The config file's ``[tune]`` table, checked for unknown keys."""
    table = dict(load_toml(config).get("tune", {})) if config else {}
    unknown = sorted(set(table) - TUNE_KEYS)
    if unknown:
        raise ConfigError(f"{config}: unknown keys {unknown} in [tune]. Known: "
                          f"{sorted(TUNE_KEYS)}.")
    return table


TUNE_FLAGS = [
    ("train", list[str], typer.Argument(..., help="Training files, globs, folders or URLs.")),
    ("out", Path, typer.Option(..., "--out", help="Output directory of the search.")),
    ("val", Optional[list[str]], typer.Option(None, "--val", help="Validation data "
     "(repeatable), which every trial is scored on; default: a stable-hash split of TRAIN "
     "(--val-fraction).")),
    ("test", Optional[list[str]], typer.Option(None, "--test", help="Test data: only the "
     "best trial's model is scored on it, once, at the end (repeatable). Default: none.")),
    ("config", Optional[Path], typer.Option(None, "--config", help="TOML file with the "
     "run tables (as for train) and a [tune] table (grid, search, trials, time_budget, "
     "metric, prune); flags override it. Default: none.")),
    ("verbose", int, typer.Option(1, "--verbose", help="0 silent, 1 one line per trial, "
     "2 also one line per epoch. Default: 1.", show_default=False)),
    ("grid", Optional[list[str]], typer.Option(None, "--grid", help="A searched setting "
     "as NAME=V1,V2,... (or NAME=LOW..HIGH[:log] for random/tpe), repeatable, e.g. "
     "--grid layers=1,2,3 --grid units=8,16,32,64,128. Any model, train, stream or "
     "vectorize setting; default: the model's grid (mlp: the guide's layers x units).")),
    ("search", Optional[str], typer.Option(None, "--search", help="grid (every "
     "combination, as the guide) | random | tpe (Optuna, optional extra 'tune'); "
     "default: grid.")),
    ("trials", Optional[int], typer.Option(None, "--trials", help="Number of trials "
     "for random/tpe, finished ones included; grid runs every combination. Required for "
     "random and tpe; no default.")),
    ("time_budget", Optional[str], typer.Option(None, "--time-budget", help="Stop "
     "starting trials when the next would end past this duration (90s, 10m, 1h30m); the "
     "skipped ones are listed in report.json; default: no limit.")),
    ("metric", Optional[str], typer.Option(None, "--metric", help="What picks the best "
     "trial: val_loss (lowest) | val_accuracy | macro_f1 (highest); default: val_loss.")),
    ("prune", Optional[bool], typer.Option(None, "--prune/--no-prune", help="random/tpe: "
     "stop trials whose validation curve is below the median of earlier trials (Optuna's "
     "MedianPruner); default: on. Grid trials always run to their end.")),
    ("overwrite", bool, typer.Option(False, "--overwrite", help="Forget OUT's trials and "
     "start the search over (vectorized caches are still reused).")),
]


register_command("tune", tune_command, TUNE_FLAGS)
