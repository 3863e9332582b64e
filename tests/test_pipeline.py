"""End to end on real data: train -> evaluate -> predict through the CLI, then the Python API."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import textbatch
from textbatch.cli.main import _register_commands
from textbatch.cli.app import app
from textbatch.errors import CheckpointError

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
IMDB = DATA / "imdb" / "train.csv.gz"
AG_NEWS = DATA / "ag_news" / "test.csv"


def head_rows(source: Path, target: Path, start: int, count: int) -> Path:
    """``count`` rows of a Zhang CSV (gzip or plain) from row ``start``, written as plain CSV."""
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", newline="") as handle:
        rows = list(csv.reader(handle))[start : start + count]
    with target.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return target


def invoke(*args: str):
    _register_commands()
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def imdb_run(tmp_path_factory) -> dict[str, Path]:
    if not IMDB.exists():
        pytest.skip(f"{IMDB} is absent (clone the shared data beside the repo)")
    root = tmp_path_factory.mktemp("imdb")
    train = head_rows(IMDB, root / "train.csv", 0, 1_000)
    test = head_rows(IMDB, root / "test.csv", 1_000, 300)
    out = root / "run"
    result = invoke("train", train, "--test", test, "--out", out, "--epochs", "2",
                    "--batch-size", "128", "--top-k", "5000", "--model", "mlp")
    return {"train": train, "test": test, "out": out, "output": result.output}


def test_train_writes_every_artifact(imdb_run) -> None:
    out = imdb_run["out"]
    for name in ("model/config.json", "model/labels.json", "model/model.safetensors",
                 "metrics.json", "history.csv", "report.json", "plots/history.png",
                 "plots/confusion.png"):
        assert (out / name).is_file(), name
    assert any((out / "model" / "vectorizer").iterdir())
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("val_accuracy", "val_loss", "test_accuracy", "test_loss", "best_epoch",
                "epochs_run", "model"):
        assert key in metrics, key
    assert metrics["model"] == "mlp" and 1 <= metrics["best_epoch"] <= metrics["epochs_run"] <= 2
    assert 0.5 <= metrics["test_accuracy"] <= 1.0
    report = json.loads((out / "report.json").read_text())
    assert {"manifest", "vectorize", "cache", "train", "evaluate", "save"} <= set(report["seconds"])
    assert report["peak_rss_bytes"] > 0 and report["records_per_second"] > 0
    assert "Epoch 1/2 - " in imdb_run["output"]


def test_evaluate_reports_per_class_metrics_and_confusion(imdb_run, tmp_path) -> None:
    result = invoke("evaluate", imdb_run["out"], imdb_run["test"], "--json", "--out", tmp_path)
    summary = json.loads(result.output)
    assert summary["num_records"] == 300
    assert set(summary["per_class"]) == {"0", "1"} or len(summary["per_class"]) == 2
    assert sum(map(sum, summary["confusion_matrix"])) == 300
    saved = json.loads((tmp_path / "evaluation.json").read_text())
    assert saved["accuracy"] == summary["accuracy"]
    assert (tmp_path / "confusion.png").stat().st_size > 0
    metrics = json.loads((imdb_run["out"] / "metrics.json").read_text())
    assert summary["accuracy"] == pytest.approx(metrics["test_accuracy"])


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_predict_writes_one_row_per_record(imdb_run, tmp_path, suffix) -> None:
    target = tmp_path / f"predictions.{suffix}"
    invoke("predict", imdb_run["out"], imdb_run["test"], "--output", target)
    lines = target.read_text().splitlines()
    if suffix == "csv":
        rows = list(csv.DictReader(lines))
        assert len(rows) == 300
        probs = [float(v) for k, v in rows[0].items() if k.startswith("p_")]
    else:
        rows = [json.loads(line) for line in lines]
        assert len(rows) == 300
        probs = list(rows[0]["probabilities"].values())
    assert sum(probs) == pytest.approx(1.0, abs=1e-5)
    assert not list(tmp_path.glob(".*tmp"))  # atomic: no temp file left behind


def test_predict_skips_bad_rows_only_when_asked_and_counts_them(imdb_run, tmp_path) -> None:
    data = tmp_path / "with_bad_row.csv"
    data.write_text('"1","","a dull film"\n"2"\n"2","","a fine film"\n')
    target = tmp_path / "predictions.csv"
    _register_commands()
    failed = CliRunner().invoke(app, ["predict", str(imdb_run["out"]), str(data), "--output",
                                      str(target)])
    assert failed.exit_code != 0 and not target.exists()
    result = invoke("predict", imdb_run["out"], data, "--output", target,
                    "--on-bad-records", "skip")
    assert len(list(csv.DictReader(target.read_text().splitlines()))) == 2
    assert "Wrote 2 predictions" in result.output and "skipped records: " in result.output
    assert "skipped records: 0" not in result.output


def test_predict_one_text_and_python_api_agree(imdb_run) -> None:
    text = "A wonderful, moving film with brilliant acting. I loved every minute."
    result = json.loads(invoke("predict", imdb_run["out"], "--text", text).output)
    classifier = textbatch.load(str(imdb_run["out"]))
    assert classifier.predict([text]) == [result["label"]]
    probs = classifier.predict_proba([text, "Dull and boring, the worst film of the year."])
    assert probs.shape == (2, 2)


def test_load_refuses_weights_of_another_architecture(imdb_run, tmp_path) -> None:
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(imdb_run["out"] / "model", copy)
    header = json.loads((copy / "config.json").read_text())
    header["run"]["model"]["units"] = 32
    (copy / "config.json").write_text(json.dumps(header))
    with pytest.raises(CheckpointError, match="do not match"):
        textbatch.load(str(copy))


def test_multiclass_ngram_bag_on_ag_news(tmp_path) -> None:
    if not AG_NEWS.exists():
        pytest.skip(f"{AG_NEWS} is absent (clone the shared data beside the repo)")
    train = head_rows(AG_NEWS, tmp_path / "train.csv", 0, 800)
    (tmp_path / "classes.txt").write_text((AG_NEWS.parent / "classes.txt").read_text())
    out = tmp_path / "run"
    invoke("train", train, "--out", out, "--epochs", "1", "--model", "ngram-bag",
           "--buckets", "50000", "--verbose", "0", "--val-fraction", "0.2")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "ngram-bag" and "test_accuracy" not in metrics
    classifier = textbatch.load(str(out))
    assert classifier.classes == ["World", "Sports", "Business", "Sci/Tech"]
    assert classifier.predict(["The team won the championship game"])[0] in classifier.classes


def test_sepcnn_pads_to_the_longest_training_sequence(tmp_path) -> None:
    sst2 = DATA / "sst2" / "stsa.binary.train"
    if not sst2.exists():
        pytest.skip(f"{sst2} is absent (clone the shared data beside the repo)")
    train = tmp_path / "train.txt"
    lines = sst2.read_text(encoding="utf-8").splitlines(keepends=True)[:300]
    train.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "run"
    invoke("train", train, "--out", out, "--model", "sepcnn", "--epochs", "1", "--verbose", "0",
           "--embedding-dim", "16", "--filters", "8")
    classifier = textbatch.load(str(out))
    longest = max(len(line.split()) - 1 for line in lines)
    assert 1 < classifier.config.vectorize.max_sequence_length <= longest
    assert classifier.predict(["a gripping , funny film"])[0] in classifier.classes


def test_test_set_vectorized_during_training_scores_the_same(imdb_run, tmp_path,
                                                             monkeypatch) -> None:
    """With a CPU to spare (the MLP trains on one thread) the test split is vectorized by
    workers while the model trains and evaluate reads their rows; the metrics are those of
    vectorizing it at evaluate."""
    from textbatch.pipeline import fit_pool

    test = head_rows(IMDB, tmp_path / "test.csv", 1_000, 2_100)  # 3 blocks: 2 parts
    started, read = [], []
    original_init = fit_pool.PartsTransform.__init__
    original_batches = fit_pool.PartsTransform.batches

    def recording(self, vectorizer, source, *args, **kwargs):
        original_init(self, vectorizer, source, *args, **kwargs)
        started.append((len(source), len(self._dirs)))  # records, parts

    def reading(self):
        read.append(len(self._dirs))
        return original_batches(self)

    monkeypatch.setattr(fit_pool.PartsTransform, "__init__", recording)
    monkeypatch.setattr(fit_pool.PartsTransform, "batches", reading)
    monkeypatch.setattr(fit_pool, "available_cpus", lambda: 3)
    monkeypatch.setenv(fit_pool.WORKERS_ENV, "2")  # both runs fit in two workers alike
    args = (imdb_run["train"], "--test", test, "--epochs", "2", "--batch-size", "128",
            "--top-k", "5000", "--model", "mlp")
    invoke("train", *args, "--out", tmp_path / "meanwhile")
    assert started == [(2_100, 2)] and read == [2]  # started before training, read at evaluate
    monkeypatch.setattr(fit_pool, "spare_workers", lambda *_: 0)  # no CPU idle: at evaluate
    invoke("train", *args, "--out", tmp_path / "after")
    assert len(started) == 2 and len(read) == 2  # evaluate's own transform_in_parts
    meanwhile, after = (json.loads((tmp_path / name / "metrics.json").read_text())
                        for name in ("meanwhile", "after"))
    assert meanwhile == after
    assert not list((tmp_path / "meanwhile").glob("textbatch-spill-*"))
