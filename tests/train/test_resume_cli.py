"""``textbatch train`` on an existing --out: resume the same run, refuse another, --overwrite;
outputs are replaced atomically and a full disk leaves the previous one intact."""

from __future__ import annotations

import csv
import errno
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from textbatch.cli.app import app
from textbatch.cli.main import _register_commands
from textbatch.errors import CheckpointError
from textbatch.io.atomic import WriteError

GOOD = "great wonderful superb lovely excellent fine".split()
BAD = "awful boring terrible poor dull bad".split()
FLAGS = ["--model", "mlp", "--epochs", "2", "--batch-size", "16", "--top-k", "200",
         "--min-df", "1", "--checkpoint-every", "5", "--verbose", "0", "--seed", "1"]


def _write(path: Path, seed: int, n: int = 240) -> Path:
    rng = random.Random(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        for _ in range(n):
            label = rng.randint(1, 2)
            words = rng.choices(GOOD if label == 2 else BAD, k=4) + rng.choices(GOOD + BAD, k=4)
            writer.writerow([label, "", " ".join(words)])
    return path


def _train(*args, expect_ok: bool = True):
    _register_commands()
    result = CliRunner().invoke(app, ["train", *map(str, args)], catch_exceptions=not expect_ok)
    if expect_ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def run(tmp_path, monkeypatch) -> dict[str, Path]:
    monkeypatch.setenv("TEXTBATCH_CACHE_DIR", str(tmp_path / "cache"))
    data = _write(tmp_path / "train.csv", 0)
    out = tmp_path / "run"
    _train(data, *FLAGS, "--out", out)
    return {"data": data, "out": out}


def test_rerun_resumes_and_reproduces_the_artifacts(run) -> None:
    out = run["out"]
    weights = (out / "model" / "model.safetensors").read_bytes()
    metrics = json.loads((out / "metrics.json").read_text())
    vectorizer_mtime = (out / "checkpoints" / "vectorizer").stat().st_mtime_ns
    _train(run["data"], *FLAGS, "--out", out, "--resume")
    assert (out / "model" / "model.safetensors").read_bytes() == weights
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert (out / "checkpoints" / "vectorizer").stat().st_mtime_ns >= vectorizer_mtime
    assert len(list(csv.reader((out / "history.csv").open()))) == 3  # replaced, not appended


def test_changed_settings_or_data_are_refused_with_what_differs(run) -> None:
    result = _train(run["data"], *FLAGS, "--units", "32", "--out", run["out"], expect_ok=False)
    assert isinstance(result.exception, CheckpointError)
    assert "config.model.units: 64 in the checkpoint, 32 now" in str(result.exception)
    assert "--overwrite" in str(result.exception)
    _write(run["data"], seed=1)  # same path, other content
    result = _train(run["data"], *FLAGS, "--out", run["out"], expect_ok=False)
    assert isinstance(result.exception, CheckpointError)
    assert f"train data: {run['data']} changed" in str(result.exception)
    _train(run["data"], *FLAGS, "--out", run["out"], "--overwrite")  # deliberate fresh start


def test_resume_without_a_checkpoint_is_an_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TEXTBATCH_CACHE_DIR", str(tmp_path / "cache"))
    data = _write(tmp_path / "train.csv", 0, n=60)
    result = _train(data, *FLAGS, "--out", tmp_path / "run", "--resume", expect_ok=False)
    assert isinstance(result.exception, CheckpointError)
    assert "no checkpoint to resume from" in str(result.exception)


def test_predict_on_a_full_disk_keeps_the_previous_output(run, tmp_path, monkeypatch) -> None:
    output = tmp_path / "predictions.csv"
    invoke = CliRunner().invoke
    assert invoke(app, ["predict", str(run["out"]), str(run["data"]), "--output",
                        str(output)]).exit_code == 0
    before = output.read_bytes()
    assert before.count(b"\n") == 241  # header + one row per record
    assert invoke(app, ["predict", str(run["out"]), str(run["data"]), "--output",
                        str(output)]).exit_code == 0
    assert output.read_bytes() == before  # a rerun replaces, never appends

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("textbatch.io.atomic.os.fsync", no_space)
    result = invoke(app, ["predict", str(run["out"]), str(run["data"]), "--output", str(output)])
    assert isinstance(result.exception, WriteError)
    assert "No space left on device" in str(result.exception)
    assert output.read_bytes() == before
    # no temp file is left; the output's lock file (``.NAME.textbatch.lock``, io.run_folder) stays
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".predictions")
            and not p.name.endswith(".textbatch.lock")] == []


def test_a_scheduled_run_logs_its_rate_saves_the_schedule_and_keeps_its_epochs(
        tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TEXTBATCH_CACHE_DIR", str(tmp_path / "cache"))
    data, out = _write(tmp_path / "train.csv", 0), tmp_path / "run"
    flags = [*FLAGS, "--lr-schedule", "linear-decay", "--warmup-epochs", "0.5"]
    _train(data, *flags, "--out", out)
    config = json.loads((out / "model" / "config.json").read_text())["run"]
    assert (config["train"]["lr_schedule"], config["train"]["warmup_epochs"]) == (
        "linear-decay", 0.5)
    rates = [float(row["learning_rate"]) for row in csv.DictReader((out / "history.csv").open())]
    assert len(rates) == 2 and 0 < rates[1] < rates[0] <= 3e-3  # decaying from the default rate
    result = _train(data, *flags, "--epochs", "3", "--out", out, expect_ok=False)
    assert isinstance(result.exception, CheckpointError)  # the decay spans the epochs
    assert "config.train.epochs: 2 in the checkpoint, 3 now" in str(result.exception)
