"""Multi-label end to end on real GoEmotions rows: train from fastText lines (--task
multilabel) and from a TSV with a joined label column (detected, announced); predict with
--top-k/--threshold; evaluate per label; thresholds tuned and saved; single-label refusals."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from textbatch.cli.app import app
from textbatch.cli.main import _register_commands
from textbatch.errors import DataError

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "goemotions"
READ = ["--text-column", "0", "--label-column", "1", "--no-header", "--label-separator", ","]
SMALL = ["--epochs", "2", "--batch-size", "64", "--top-k", "3000", "--model", "mlp",
         "--learning-rate", "0.01", "--dropout-rate", "0.2"]


def invoke(*args: str, ok: bool = True):
    _register_commands()
    result = CliRunner().invoke(app, [str(a) for a in args],
                                                catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output + result.stderr
    return result


def goemotions_rows(count: int, start: int = 0) -> list[tuple[str, list[str]]]:
    path = DATA / "dev.tsv"
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared/data beside the repo holds the real data)")
    lines = path.read_text("utf-8").splitlines()[start:start + count]
    return [(line.split("\t")[0], line.split("\t")[1].split(",")) for line in lines]


@pytest.fixture(scope="module")
def fasttext_run(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ml")
    train, test = root / "train.ft", root / "test.ft"
    for path, rows in ((train, goemotions_rows(1500)), (test, goemotions_rows(300, 1500))):
        path.write_text("".join(" ".join(f"__label__{l}" for l in labels) + " " + text + "\n"
                                for text, labels in rows), "utf-8")
    out = root / "run"
    result = invoke("train", train, "--test", test, "--out", out, "--task", "multilabel",
                    "--tune-thresholds", *SMALL)
    return {"train": train, "test": test, "out": out, "result": result}


def test_train_from_fasttext_lines_writes_a_multilabel_model(fasttext_run) -> None:
    out = fasttext_run["out"]
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["run"]["model"]["task"] == "multilabel"
    thresholds = json.loads((out / "model" / "thresholds.json").read_text())["thresholds"]
    assert len(thresholds) == len(config["classes"]) and all(0 <= t <= 1 for t in
                                                              thresholds.values())
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("test_micro_f1", "test_macro_f1", "test_precision_at_1", "test_subset_accuracy",
                "val_micro_f1", "test_loss"):
        assert 0.0 <= metrics[key] <= 1.0, key
    history = (out / "history.csv").read_text().splitlines()[0]
    assert "val_micro_f1" in history and "val_precision_at_1" in history
    assert "val_micro_f1:" in fasttext_run["result"].stdout  # the epoch line
    assert "Task: multilabel (--task)" in fasttext_run["result"].stderr


def test_predict_top_k_threshold_writes_every_label_above_it(fasttext_run, tmp_path) -> None:
    output = tmp_path / "p.jsonl"
    invoke("predict", fasttext_run["out"], fasttext_run["test"], "--output", output,
           "--top-k", "3", "--threshold", "0.3")
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(rows) == 300
    for row in rows:
        probs = row["probabilities"]
        above = sorted((p, c) for c, p in probs.items() if p >= 0.3)[::-1][:3]
        assert row["labels"] == [c for _, c in above]
        assert row["label"] == max(probs, key=probs.get)
    assert any(len(r["labels"]) > 1 for r in rows) or all(
        sum(p >= 0.3 for p in r["probabilities"].values()) <= 1 for r in rows)
    csv_out = tmp_path / "p.csv"
    invoke("predict", fasttext_run["out"], fasttext_run["test"], "--output", csv_out)
    with csv_out.open() as handle:
        table = list(csv.DictReader(handle))
    thresholds = json.loads((fasttext_run["out"] / "model" / "thresholds.json").read_text())
    for row in table[:50]:  # default: the tuned thresholds, no top-k
        picked = {c for c, t in thresholds["thresholds"].items() if float(row[f"p_{c}"]) >= t}
        assert set(filter(None, row["labels"].split("|"))) == picked


def test_evaluate_prints_per_label_and_averages(fasttext_run) -> None:
    result = invoke("evaluate", fasttext_run["out"], fasttext_run["test"])
    assert "Micro P/R/F1:" in result.stdout and "Macro P/R/F1:" in result.stdout
    assert "Precision@1:" in result.stdout and "threshold" in result.stdout
    as_json = json.loads(invoke("evaluate", fasttext_run["out"], fasttext_run["test"],
                                "--json").stdout)
    metrics = json.loads((fasttext_run["out"] / "metrics.json").read_text())
    assert as_json["micro_f1"] == pytest.approx(metrics["test_micro_f1"])
    assert as_json["macro_f1"] == pytest.approx(metrics["test_macro_f1"])
    assert set(as_json["per_label"]) == set(as_json["classes"])


def test_a_joined_label_column_is_detected_and_announced(tmp_path) -> None:
    rows = goemotions_rows(800)
    train = tmp_path / "train.tsv"
    train.write_text("".join(f"{text}\t{','.join(labels)}\tid\n" for text, labels in rows),
                     "utf-8")
    result = invoke("train", train, "--out", tmp_path / "run", *READ, *SMALL, "--epochs", "1")
    several = sum(len(labels) > 1 for _, labels in rows)
    assert f"Task: multilabel (auto: {several:,} of " in result.stderr
    config = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert config["run"]["model"]["task"] == "multilabel"
    assert not (tmp_path / "run" / "model" / "thresholds.json").exists()  # not asked for
    single = invoke("predict", tmp_path / "run", "--text", "thank you so much!")
    assert "labels" in json.loads(single.stdout)


def test_task_single_refuses_multilabel_data_naming_the_line(tmp_path) -> None:
    train = tmp_path / "train.ft"
    train.write_text("__label__a one\n__label__b two\n__label__a __label__b three\n" * 3)
    with pytest.raises(DataError, match=rf"^{train}:3: record has several labels, but --task "
                                        "is single .*Pass --task multilabel"):
        invoke("train", train, "--out", tmp_path / "run", "--task", "single", *SMALL, ok=False)


def test_a_label_seen_only_in_validation_names_file_and_line(tmp_path) -> None:
    train, val = tmp_path / "train.ft", tmp_path / "val.ft"
    train.write_text("__label__a __label__b one two\n__label__b three four\n" * 20)
    val.write_text("__label__a one\n__label__a __label__c five\n")
    with pytest.raises(DataError, match=rf"^{val}:2: label 'c' was not seen in training"):
        invoke("train", train, "--val", val, "--out", tmp_path / "run", *SMALL, "--min-df", "1",
               ok=False)


def test_single_label_prediction_is_unchanged_without_the_new_flags(tmp_path) -> None:
    train = tmp_path / "train.ft"
    rows = goemotions_rows(400)
    train.write_text("".join(f"__label__{labels[0]} {text}\n" for text, labels in rows), "utf-8")
    invoke("train", train, "--out", tmp_path / "run", *SMALL, "--epochs", "1")
    plain = json.loads(invoke("predict", tmp_path / "run", "--text", "so happy").stdout)
    assert list(plain) == ["label", "probabilities"]
    top = json.loads(invoke("predict", tmp_path / "run", "--text", "so happy", "--top-k",
                            "2").stdout)
    ranked = sorted(top["probabilities"], key=top["probabilities"].get, reverse=True)
    assert top["labels"] == ranked[:2] and top["label"] == ranked[0]
    assert np.isclose(sum(top["probabilities"].values()), 1.0, atol=1e-4)
