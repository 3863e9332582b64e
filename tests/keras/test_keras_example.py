"""examples/keras_batch_training.py end to end on a small real IMDB sample, and the Keras MLP it
trains against textbatch's own MLP (``textbatch train``'s pipeline) on the same sample."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

keras = pytest.importorskip(
    "keras", reason="keras is not installed (pip install 'textbatch[keras]')")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "keras_batch_training.py"
# A quick sample: the guide's top 20,000 n-grams need more data to pay off, and at the guide's
# 1e-3 a 2,000-review sample needs ~10 epochs; at 1e-2 it converges in ~3. Both MLPs share them.
TOP_K = 2_000
SAMPLE = 2_000
LEARNING_RATE = 1e-2
EPOCHS = 8


def head(source: Path, target: Path, rows: int) -> Path:
    """The first ``rows`` rows of a Zhang CSV (one row per line: newlines are escaped)."""
    with gzip.open(source, "rt", encoding="utf-8") as lines:
        target.write_text("".join(line for _, line in zip(range(rows), lines)), "utf-8")
    return target


@pytest.fixture(scope="module")
def imdb_sample(tmp_path_factory):
    """The real IMDB folder and copies of the first SAMPLE rows of its train and test files."""
    shared = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "imdb"
    if not (shared / "train.csv.gz").exists():
        pytest.skip(f"{shared} is absent (../shared/data beside the repo holds the real data)")
    folder = tmp_path_factory.mktemp("imdb_sample")
    return shared, (head(shared / "train.csv.gz", folder / "train.csv", SAMPLE),
                    head(shared / "test.csv.gz", folder / "test.csv", SAMPLE))


def run_example(shared: Path, out: Path) -> str:
    """The example script, run as a user runs it, on the first SAMPLE rows of the real files."""
    env = {**os.environ, "KERAS_BACKEND": "torch", "TEXTBATCH_CACHE_DIR": str(out / "manifests")}
    command = [sys.executable, str(EXAMPLE), "--train", str(shared / "train.csv.gz"),
               "--val", str(shared / "test.csv.gz"), "--limit", str(SAMPLE),
               "--top-k", str(TOP_K), "--epochs", str(EPOCHS),
               "--learning-rate", str(LEARNING_RATE), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def printed_accuracy(stdout: str) -> float:
    match = re.search(r"^Validation accuracy: ([0-9.]+)", stdout, re.MULTILINE)
    assert match, stdout
    return float(match.group(1))


def textbatch_accuracy(train_file: Path, val_file: Path, out: Path) -> float:
    """``textbatch train``'s own MLP on the same records, vectorizer settings and schedule."""
    from textbatch.config import RunConfig, StreamConfig, TrainConfig, VectorizeConfig
    from textbatch.pipeline.train import TrainRequest, train

    config = RunConfig(stream=StreamConfig(batch_size=128),
                       vectorize=VectorizeConfig(kind="ngram", top_k=TOP_K),
                       train=TrainConfig(epochs=EPOCHS, patience=2, learning_rate=LEARNING_RATE))
    metrics = train(TrainRequest(train=[str(train_file)], val=[str(val_file)], out=out,
                                 config=config, model="mlp", verbose=0))
    return float(metrics["val_accuracy"])


@pytest.mark.slow
def test_example_trains_and_matches_textbatch_mlp_within_one_point(imdb_sample, tmp_path,
                                                                   monkeypatch):
    """One test, not two: the Keras run is the expensive part and must not run twice under
    pytest-xdist, which may send two tests of a module to different workers."""
    shared, (train_file, val_file) = imdb_sample
    stdout = run_example(shared, tmp_path / "keras_run")
    assert f"{SAMPLE:,} train / {SAMPLE:,} val records, {TOP_K:,} features, 2 classes" in stdout
    assert re.search(rf"^Epoch 2/{EPOCHS}$", stdout, re.MULTILINE)  # verbose=2: a line per epoch
    keras_accuracy = printed_accuracy(stdout)
    assert 0.8 < keras_accuracy <= 1.0  # the guide's MLP learns from 2,000 reviews
    restored = keras.saving.load_model(tmp_path / "keras_run" / "mlp_model.keras")
    assert restored.input_shape == (None, TOP_K)

    monkeypatch.setenv("TEXTBATCH_CACHE_DIR", str(tmp_path / "manifests"))
    ours = textbatch_accuracy(train_file, val_file, tmp_path / "textbatch_run")
    assert abs(keras_accuracy - ours) <= 0.01, (keras_accuracy, ours)
