"""``textbatch tune`` end to end on tiny real data (IMDB rows): one vectorizer fit for a grid
that does not search a vectorizer setting, trials.csv / plot / model / best.toml, budget stop,
resume after SIGKILL, failed trials, the Optuna path."""

from __future__ import annotations

import csv
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from textbatch.cli.app import app
from textbatch.cli.main import _register_commands

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "imdb" / "train.csv.gz"
TINY = ("--epochs", "2", "--top-k", "500", "--batch-size", "64", "--model", "mlp",
        "--verbose", "0")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    if not DATA.exists():
        pytest.skip(f"{DATA} is absent (clone the shared data beside the repo)")
    root = tmp_path_factory.mktemp("tune_data")
    with gzip.open(DATA, "rt", newline="") as handle:
        rows = [row for _, row in zip(range(400), csv.reader(handle))]
    paths = {"train": root / "train.csv", "test": root / "test.csv"}
    for name, part in (("train", rows[:300]), ("test", rows[300:])):
        with paths[name].open("w", newline="") as handle:
            csv.writer(handle).writerows(part)
    return paths


def tune(*args, ok: bool = True):
    _register_commands()
    result = CliRunner().invoke(app, ["tune", *map(str, args)], catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()]


def test_grid_fits_once_and_writes_trials_plot_model_and_toml(data, tmp_path) -> None:
    out = tmp_path / "run"
    args = (data["train"], "--test", data["test"], "--out", out, "--grid", "layers=1,2",
            "--grid", "units=8,16", *TINY)
    tune(*args)
    report = json.loads((out / "report.json").read_text())
    assert report["vectorizer_fits"] == 1 and report["cache_writes"] == 1
    assert report["states"] == {"complete": 4} and report["skipped_by_budget"] == []
    with (out / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(int(r["layers"]), int(r["units"])) for r in rows] == [(1, 8), (1, 16), (2, 8),
                                                                 (2, 16)]
    assert (out / "plots" / "tune.png").stat().st_size > 0
    best = report["best"]
    assert best["value"] == pytest.approx(min(float(r["val_loss"]) for r in rows), abs=1e-6)
    assert 0.0 <= best["test"]["accuracy"] <= 1.0 and best["test"]["num_records"] == 100

    from textbatch.artifacts import load_classifier
    from textbatch.cli.train import build_run_config

    classifier = load_classifier(out / "model")  # an ordinary model/: evaluate/predict load it
    assert classifier.config.model.units == best["params"]["units"]
    assert len(classifier.predict(["a fine film", "dull"])) == 2
    config, model, _, _ = build_run_config({}, out / "best.toml")  # train --config accepts it
    assert model == "mlp" and config.model.layers == best["params"]["layers"]
    assert config.model.units == best["params"]["units"] and config.vectorize.top_k == 500

    before = records(out)
    again = tune(*args)  # the same command again: everything is done, nothing retrained
    assert records(out) == before
    rerun = json.loads((out / "report.json").read_text())
    assert rerun["trials_run_now"] == 0 and rerun["vectorizer_fits"] == 0  # the reuse rule
    assert '"num_trials": 4' in again.output


def test_a_searched_vectorizer_setting_fits_once_per_value(data, tmp_path) -> None:
    out = tmp_path / "run"
    tune(data["train"], "--out", out, "--grid", "units=8,16", "--grid", "top_k=200,400", *TINY)
    report = json.loads((out / "report.json").read_text())
    assert report["vectorizer_fits"] == 2 and report["cache_writes"] == 2
    assert [r["params"]["top_k"] for r in records(out)] == [200, 200, 400, 400]


def test_budget_stops_starting_trials_and_a_rerun_continues(data, tmp_path) -> None:
    out = tmp_path / "run"
    args = (data["train"], "--out", out, "--grid", "units=8,16,32", *TINY)
    tune(*args, "--time-budget", "0.001s")  # the first trial has no estimate: it starts
    report = json.loads((out / "report.json").read_text())
    assert report["num_trials"] == 1
    assert report["skipped_by_budget"] == [{"units": 16}, {"units": 32}]
    tune(*args)
    assert [r["params"]["units"] for r in records(out)] == [8, 16, 32]
    assert records(out)[0]["number"] == 0 and records(out)[2]["number"] == 2


def test_failed_trials_are_recorded_and_the_search_goes_on(data, tmp_path) -> None:
    out = tmp_path / "run"
    # 2**40 units cannot be allocated (a real out-of-memory); a 1e300 step makes the loss NaN
    tune(data["train"], "--out", out, "--grid", f"units=8,{2 ** 40}",
         "--grid", "learning_rate=0.003,1e300", *TINY)
    trials = {(r["params"]["units"], r["params"]["learning_rate"]): r for r in records(out)}
    assert trials[(8, 0.003)]["state"] == "complete"
    assert trials[(8, 1e300)]["state"] == "failed"
    assert "NaN loss at epoch 1" in trials[(8, 1e300)]["error"]
    for lr in (0.003, 1e300):
        failed = trials[(2 ** 40, lr)]
        assert failed["state"] == "failed" and "allocate" in failed["error"]
        assert failed["value"] is None
    report = json.loads((out / "report.json").read_text())
    assert report["best"]["params"] == {"units": 8, "learning_rate": 0.003}
    assert report["states"] == {"complete": 1, "failed": 3}


def test_another_search_in_the_same_folder_is_refused(data, tmp_path) -> None:
    out = tmp_path / "run"
    tune(data["train"], "--out", out, "--grid", "units=8", *TINY)
    refused = CliRunner().invoke(app, ["tune", str(data["train"]), "--out", str(out),
                                       "--grid", "units=8", *TINY[:-4], "--dropout-rate",
                                       "0.3", "--model", "mlp"])
    assert refused.exit_code != 0 and "holds the trials of another search" in str(
        refused.exception)


def test_optuna_tpe_path_samples_ranges_and_resumes(data, tmp_path) -> None:
    pytest.importorskip("optuna", reason="optuna (the 'tune' extra) is not installed")
    out = tmp_path / "run"
    args = (data["train"], "--out", out, "--search", "tpe", "--grid",
            "learning_rate=1e-3..1e-1:log", "--grid", "units=8,16", "--metric",
            "val_accuracy", *TINY)
    tune(*args, "--trials", "3")
    first = records(out)
    assert len(first) == 3
    for record in first:
        assert 1e-3 <= record["params"]["learning_rate"] <= 1e-1
        assert record["params"]["units"] in (8, 16) and record["state"] in ("complete",
                                                                            "pruned")
        assert len(record["curve"]) == record["epochs_run"]
    tune(*args, "--trials", "5")  # 3 are done: two more, the first three kept as they were
    assert records(out)[:3] == first and len(records(out)) == 5


def test_random_search_without_optuna_names_the_extra(data, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if the extra were not installed
    _register_commands()
    result = CliRunner().invoke(app, ["tune", str(data["train"]), "--out", str(tmp_path),
                                      "--search", "random", "--trials", "2", *TINY])
    assert result.exit_code != 0 and "pip install 'textbatch[tune]'" in str(result.exception)


@pytest.mark.slow
def test_sigkill_mid_search_then_the_same_command_finishes(data, tmp_path) -> None:
    out = tmp_path / "run"
    args = [str(data["train"]), "--out", str(out), "--grid", "units=4,8,16,32,64,128", *TINY]
    process = subprocess.Popen([sys.executable, "-m", "textbatch", "tune", *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 600
    while not (out / "trials.jsonl").exists() and process.poll() is None:
        assert time.monotonic() < deadline, "no trial finished in 10 minutes"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed = records(out)
    assert 1 <= len(killed) <= 6
    tune(*args)
    after = records(out)
    assert after[:len(killed)] == killed  # finished trials were not retrained
    assert sorted(r["params"]["units"] for r in after) == [4, 8, 16, 32, 64, 128]
    report = json.loads((out / "report.json").read_text())
    assert report["trials_run_now"] == 6 - len(killed) and report["num_trials"] == 6
    assert report["vectorizer_fits"] == 0  # the killed run's fit and cache are reused
